"""A local run for the test to SIGKILL at a stage boundary (tests/orchestration/test_killed_run.py).

    python killed_run.py PARAMS RUN_ID STAGE SPARK_REMOTE

It runs ``stepwise_run.run`` on PARAMS's lake as a Spark Connect client of
SPARK_REMOTE (the test's server; its token comes in the environment). After
each stage it prints ``boundary <stage>``; after STAGE it prints ``waiting``
and waits to be killed, holding the lake lock as the killed run would.
"""

from __future__ import annotations

import sys
import time

from orchestration.stepwise_run import BOUNDARIES, run

from gnp.core.config import load_params
from gnp.lake.spark import get_session


def main(params_file: str, run_id: str, stop_after: str, spark_remote: str) -> None:
    assert stop_after in BOUNDARIES, f"{stop_after} is no boundary: {BOUNDARIES}"
    params = load_params(params_file)

    def at_boundary(stage: str) -> None:
        print(f"boundary {stage}", flush=True)
        if stage == stop_after:
            print("waiting", flush=True)
            while True:
                time.sleep(60)

    run(params, run_id, lambda: get_session(params, spark_remote, run_id), at_boundary)
    print("ended without being killed", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
