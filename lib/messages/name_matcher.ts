/**
 * Relay hostname patterns (SNOWFLAKE-PROTOCOL.md §4.9; Go
 * `common/namematcher`): a rule ends in `$`; after stripping it, a leading `^`
 * means an exact hostname, otherwise the rest is a plain string suffix (no dot
 * boundary: `evilsnowflake.torproject.net` matches `snowflake.torproject.net$`).
 * The broker accepts a proxy's `AcceptedRelayPattern` only if it is a superset
 * of the broker's `--allowed-relay-pattern`; the proxy checks relay URLs with
 * {@link NameMatcher.isMember}.
 */

export class NameMatcher {
  readonly exact: boolean;
  readonly suffix: string;

  constructor(rule: string) {
    const body = rule.endsWith("$") ? rule.slice(0, -1) : rule;
    this.exact = body.startsWith("^");
    this.suffix = this.exact ? body.slice(1) : body;
  }

  /** Whether a rule is well-formed (ends in `$`); the empty rule is not, but matches everything. */
  static isValidRule(rule: string): boolean {
    return rule.endsWith("$");
  }

  /** Whether every name this matcher accepts is accepted by `this`. */
  isSupersetOf(other: NameMatcher): boolean {
    if (this.exact) return other.exact && this.suffix === other.suffix;
    return other.suffix.endsWith(this.suffix);
  }

  /** Whether `name` matches. */
  isMember(name: string): boolean {
    return this.exact ? name === this.suffix : name.endsWith(this.suffix);
  }
}
