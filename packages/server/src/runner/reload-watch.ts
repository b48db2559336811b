import { type FSWatcher, watch } from 'node:fs';
import { dirname, join, sep } from 'node:path';

/** A file an app may load: what a change counts for while no server started from the files. */
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?|json)$/;
/** Editors save in a few steps (write, rename, chmod): one reload for them all. */
const SETTLE_MS = 100;

/**
 * The files of the running server (the modules it loaded, the config), and
 * the reloader told once when one of them changes. It watches their
 * directories rather than the files themselves: an editor that saves by
 * writing a new file and renaming it over the old one replaces the file a
 * watch would follow.
 */
export class SourceWatcher {
  private readonly files = new Set<string>();
  private readonly dirs = new Map<string, FSWatcher>();
  private settling: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * While the last start failed, any source file changing in a watched
   * directory counts: the fix may be a module that failed to load, or one
   * that did not exist yet.
   */
  anySource = false;

  constructor(private readonly changed: (file: string) => void) {}

  /** Watch these files (absolute paths); what is in `node_modules` is left alone. */
  add(files: Iterable<string>): void {
    for (const file of files) {
      if (this.closed || this.files.has(file) || file.split(sep).includes('node_modules')) continue;
      this.files.add(file);
      this.watchDirectory(dirname(file));
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.settling);
    for (const watcher of this.dirs.values()) watcher.close();
    this.dirs.clear();
  }

  private watchDirectory(dir: string): void {
    if (this.dirs.has(dir)) return;
    try {
      const watcher = watch(dir, (_event, name) => {
        if (name) this.saw(join(dir, name.toString()));
      });
      // The directory went away: nothing more to see there.
      watcher.on('error', () => {
        watcher.close();
        this.dirs.delete(dir);
      });
      this.dirs.set(dir, watcher);
    } catch {
      // It does not exist (any more): a file there cannot change.
    }
  }

  private saw(file: string): void {
    if (!(this.files.has(file) || (this.anySource && SOURCE_FILE.test(file)))) return;
    clearTimeout(this.settling);
    this.settling = setTimeout(() => this.changed(file), SETTLE_MS);
  }
}
