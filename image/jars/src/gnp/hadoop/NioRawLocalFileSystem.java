package gnp.hadoop;

import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import org.apache.hadoop.fs.FSLinkResolver;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system, with Java NIO where Hadoop without its native
 * library starts a shell command: {@code chmod} for every file and folder it
 * creates, {@code readlink} for every rename through a FileContext (every
 * Delta Lake commit). Each of those is a process started from the JVM.
 */
public class NioRawLocalFileSystem extends RawLocalFileSystem {

  @Override
  public void setPermission(Path p, FsPermission permission) throws IOException {
    Set<PosixFilePermission> perms = PosixFilePermissions.fromString(
        permission.getUserAction().SYMBOL + permission.getGroupAction().SYMBOL
            + permission.getOtherAction().SYMBOL);
    Files.setPosixFilePermissions(pathToFile(p).toPath(), perms);
  }

  @Override
  public FileStatus getFileLinkStatus(Path f) throws IOException {
    FileStatus status = linkStatus(f);
    if (status.isSymlink()) {
      status.setSymlink(FSLinkResolver.qualifySymlinkTarget(getUri(), status.getPath(), status.getSymlink()));
    }
    return status;
  }

  @Override
  public Path getLinkTarget(Path f) throws IOException {
    return linkStatus(f).getSymlink();
  }

  /** As Hadoop's own status of a path that may be a link, with the link read by NIO. */
  private FileStatus linkStatus(Path f) throws IOException {
    File file = pathToFile(f);
    java.nio.file.Path path = file.toPath();
    if (!Files.isSymbolicLink(path)) {
      return getFileStatus(f); // a file or folder, or FileNotFoundException
    }
    Path target = new Path(Files.readSymbolicLink(path).toString());
    try {
      FileStatus fs = getFileStatus(f);
      return new FileStatus(fs.getLen(), false, fs.getReplication(), fs.getBlockSize(),
          fs.getModificationTime(), fs.getAccessTime(), fs.getPermission(), fs.getOwner(), fs.getGroup(),
          target, f);
    } catch (FileNotFoundException dangling) {
      return new FileStatus(0, false, 0, 0, 0, 0, FsPermission.getDefault(), "", "", target, f);
    }
  }
}
