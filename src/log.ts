/** What the engine reports to; the action passes `@actions/core`'s functions, tests a recorder. */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warning(message: string): void
  /** Something the user should see but that did not go wrong (an input that had no effect). */
  notice(message: string): void
  /** A value that must never be printed (a token fetched at run time): masked from here on. */
  secret(value: string): void
}

export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, notice() {}, secret() {} }
