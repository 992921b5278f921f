/**
 * One progress line on stderr, rewritten in place on a terminal and printed as plain lines
 * otherwise (so that logs of a non-interactive run still show how far it got).
 */
const tty = process.stderr.isTTY === true;
let last = '';
let lastPlainAt = 0;

export function progress(text: string): void {
  last = text;
  if (tty) {
    process.stderr.write(`\r\x1b[K${text}`);
  } else if (Date.now() - lastPlainAt > 2000) {
    lastPlainAt = Date.now();
    process.stderr.write(`… ${text}\n`);
  }
}

/** A message that must stay visible (a failure), on its own line. */
export function note(text: string): void {
  if (tty && last) process.stderr.write('\r\x1b[K');
  process.stderr.write(`${text}\n`);
  if (tty && last) process.stderr.write(last);
}

export function progressDone(): void {
  if (tty) process.stderr.write('\r\x1b[K');
  last = '';
}

/**
 * A bench file's top level: the child role when `childRole` is given (a startup failure goes to
 * the parent), otherwise `main`, which exits with status 2 on an error.
 */
export function runBench(main: () => Promise<void>, childRole?: () => Promise<void>, failChild?: (e: unknown) => void): void {
  if (childRole) {
    childRole().catch(failChild ?? ((e: unknown) => { console.error(e); process.exit(2); }));
    return;
  }
  main().catch((e: unknown) => {
    progressDone();
    console.error(e);
    process.exit(2);
  });
}
