"""Local folders through the project's NIO file system (image/jars/src/gnp/hadoop): what Hadoop's own does.

Hadoop's own, without its native library, starts a chmod process for every file and folder it creates and a
readlink process for both ends of every FileContext rename (each Delta commit). These tests run the same
operations through both, on the shared session's JVM, and compare what lands on disk and what each reports.
"""

import os
import stat

import pytest
from py4j.protocol import Py4JJavaError

from gnp.lake import spark as gnp_spark

HADOOPS_OWN = {"fs.file.impl": "org.apache.hadoop.fs.LocalFileSystem",
               "fs.AbstractFileSystem.file.impl": "org.apache.hadoop.fs.local.LocalFs"}


def test_every_spark_jvm_reads_and_writes_local_folders_through_the_nio_file_system(spark):
    conf = gnp_spark.lakehouse_conf()
    assert conf["spark.driver.extraClassPath"] == conf["spark.executor.extraClassPath"] == gnp_spark.local_fs_jar()
    assert gnp_spark.LOCAL_FS_JAR not in conf["spark.jars"]  # on the JVM's own class path only
    jvm, hadoop_conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    root = jvm.java.net.URI("file:///")
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(root, hadoop_conf)
    assert fs.getClass().getName() == gnp_spark.LOCAL_FILESYSTEM
    assert fs.getRawFileSystem().getClass().getName() == "gnp.hadoop.NioRawLocalFileSystem"
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(root, hadoop_conf)
    assert context.getDefaultFileSystem().getClass().getName() == gnp_spark.LOCAL_ABSTRACT_FILESYSTEM


def test_a_missing_local_fs_jar_says_to_run_make_install(tmp_path, monkeypatch):
    for name in ("delta-spark_4.2_2.13-4.4.0.jar", "delta-storage-4.4.0.jar"):
        (tmp_path / name).touch()
    monkeypatch.setenv(gnp_spark.JARS_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match=r"gnp-localfs\.jar .*make install"):
        gnp_spark.lakehouse_conf()


def _observe(spark, root, overrides: dict[str, str]) -> dict:
    """Create, chmod, rename and stat under ``root`` through one file system; what each step left and said."""
    jvm, gateway = spark.sparkContext._jvm, spark.sparkContext._gateway
    conf = jvm.org.apache.hadoop.conf.Configuration(spark.sparkContext._jsc.hadoopConfiguration())
    conf.set("fs.file.impl.disable.cache", "true")  # a file system of its own, made with these settings
    for key, value in overrides.items():
        conf.set(key, value)
    uri = jvm.java.net.URI("file:///")
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(uri, conf)
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(uri, conf)
    Path, FsPermission = jvm.org.apache.hadoop.fs.Path, jvm.org.apache.hadoop.fs.permission.FsPermission
    no_options = gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 0)

    def path(name):
        return Path(f"file://{root}/{name}")

    def mode(name):
        return oct(stat.S_IMODE(os.lstat(root / name).st_mode))

    def error(call):
        try:
            call()
        except Py4JJavaError as e:
            return e.java_exception.getClass().getName()
        return None

    seen = {"classes": (fs.getClass().getName(), context.getDefaultFileSystem().getClass().getName())}
    assert fs.mkdirs(path("folder"))
    fs.create(path("folder/file")).close()  # a FileSystem create, as Spark's writers do
    seen["created"] = {"folder": mode("folder"), "file": mode("folder/file"), "crc": mode("folder/.file.crc")}
    fs.setPermission(path("folder/file"), FsPermission(jvm.java.lang.Short.valueOf("416")))  # 0o640
    seen["chmod"] = mode("folder/file")
    context.rename(path("folder/file"), path("folder/renamed"), no_options)  # a FileContext rename, as Delta commits
    seen["renamed"] = sorted(os.listdir(root / "folder"))
    fs.create(path("folder/other")).close()
    seen["onto an existing file"] = error(lambda: context.rename(path("folder/other"), path("folder/renamed"),
                                                                 no_options))
    os.symlink(root / "folder" / "renamed", root / "link")
    os.symlink(root / "nowhere", root / "dangling")
    for name in ("link", "dangling"):
        status = error(lambda: fs.getFileLinkStatus(path(name))) or fs.getFileLinkStatus(path(name))
        seen[name] = status if isinstance(status, str) else (
            status.isSymlink() and status.getSymlink().toString().replace(str(root), "<root>"))
    status = fs.getFileLinkStatus(path("folder/renamed"))
    seen["file status"] = (status.isSymlink(), status.isFile(), status.getLen(), status.getPermission().toString())
    seen["missing"] = (error(lambda: fs.getFileLinkStatus(path("missing"))),
                       error(lambda: context.getFileLinkStatus(path("missing"))))
    return seen


def test_files_folders_permissions_renames_and_links_come_out_as_with_hadoops_own(spark, tmp_path):
    ours, own = tmp_path / "nio", tmp_path / "hadoop"
    ours.mkdir(), own.mkdir()

    nio = _observe(spark, ours, {})
    hadoop = _observe(spark, own, HADOOPS_OWN)

    assert nio.pop("classes") == (gnp_spark.LOCAL_FILESYSTEM, gnp_spark.LOCAL_ABSTRACT_FILESYSTEM)
    assert hadoop.pop("classes") == ("org.apache.hadoop.fs.LocalFileSystem", "org.apache.hadoop.fs.local.LocalFs")
    # Links are where the two differ, and Hadoop's own is the one that is wrong: given a file: URL (as Spark and
    # Delta give every path) it runs `readlink file:/...`, which finds nothing, so it reports a link as the file
    # or folder it points to, and a dangling one as missing. The lake makes no links; a link is still reported
    # as one, with its target, as Hadoop documents.
    assert (hadoop.pop("link"), hadoop.pop("dangling")) == (False, "java.io.FileNotFoundException"), hadoop
    assert (nio.pop("link"), nio.pop("dangling")) == ("file:<root>/folder/renamed", "file:<root>/nowhere"), nio
    assert nio == hadoop
    assert nio["created"] == {"folder": "0o755", "file": "0o644", "crc": "0o644"}, nio
    assert nio["chmod"] == "0o640" and nio["renamed"] == [".renamed.crc", "renamed"], nio
    assert nio["onto an existing file"] == "org.apache.hadoop.fs.FileAlreadyExistsException", nio
    assert nio["file status"] == (False, True, 0, "rw-r-----"), nio
    assert nio["missing"] == ("java.io.FileNotFoundException",) * 2, nio
