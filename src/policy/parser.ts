/**
 * Recursive-descent parser for the attestation policy language, versions 1.0–1.2 (spec maa.md
 * §3.1–§3.3). Keywords are case-insensitive; claim variables are case-sensitive. All structural
 * checks that do not need claims (section order, allowed actions per section, version features,
 * bound variables, function arity, comparator types) happen here, so a policy that parses can only
 * fail at evaluation time on its data.
 */
import type {
  Action,
  ClaimProperty,
  ClaimSpec,
  Comparator,
  Condition,
  Expression,
  FunctionName,
  Policy,
  PolicyVersion,
  PropertyTest,
  Rule,
  Section,
  SectionName,
} from './ast.ts';
import { PolicySyntaxError, type PolicySyntaxErrorCode, type SourcePosition } from './errors.ts';
import { tokenize, type Token, type TokenKind } from './lexer.ts';
import { POLICY_LIMITS } from './limits.ts';
import { FUNCTIONS } from './functions.ts';

const VERSIONS: readonly PolicyVersion[] = ['1.0', '1.1', '1.2'];
const SECTION_ORDER: readonly SectionName[] = ['configurationrules', 'authorizationrules', 'issuancerules'];
const PROPERTIES: Readonly<Record<string, ClaimProperty>> = {
  type: 'type',
  value: 'value',
  issuer: 'issuer',
  valuetype: 'valueType',
};
const COMPARATORS: ReadonlySet<TokenKind> = new Set(['==', '!=', '<', '<=', '>', '>=', '=']);
const VALUE_TYPES: Readonly<Record<string, 'String' | 'Integer' | 'Boolean'>> = {
  string: 'String',
  integer: 'Integer',
  boolean: 'Boolean',
};

/** Which actions each section accepts (spec §3.4 and the claim-rule grammar's action table). */
const ALLOWED_ACTIONS: Readonly<Record<SectionName, ReadonlySet<Action['kind']>>> = {
  configurationrules: new Set(['issueproperty']),
  authorizationrules: new Set(['permit', 'deny', 'add']),
  issuancerules: new Set(['add', 'issue', 'issueproperty']),
};

/** Calls with more arguments than this are rejected without parsing the rest. */
const MAX_CALL_ARGS = 8;

const ACTION_NAMES: ReadonlySet<string> = new Set(['permit', 'deny', 'add', 'issue', 'issueproperty']);

/**
 * Parses policy text. Throws {@link PolicySyntaxError} (stable `code`, 1-based `line`/`column`) on
 * any problem; never returns a partial policy.
 *
 * @example
 * const policy = parsePolicy('version=1.0; authorizationrules { => permit(); }; issuancerules { };');
 */
export function parsePolicy(text: string): Policy {
  return new Parser(tokenize(text)).policy();
}

function versionAtLeast(v: PolicyVersion, min: PolicyVersion): boolean {
  return VERSIONS.indexOf(v) >= VERSIONS.indexOf(min);
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of policy';
    case 'string': {
      const shown = token.value.length > 24 ? `${token.value.slice(0, 24)}…` : token.value;
      return `string ${JSON.stringify(shown)}`;
    }
    case 'number':
      return `number ${token.value}`;
    case 'ident':
      return `'${token.value}'`;
    default:
      return `'${token.kind}'`;
  }
}

class Parser {
  private index = 0;
  private version: PolicyVersion = '1.0';
  private ruleCount = 0;
  /** Variables bound so far in the rule being parsed. */
  private scope = new Set<string>();

  constructor(private readonly tokens: readonly Token[]) {}

  // ---- token helpers -------------------------------------------------------------------------

  private peek(ahead = 0): Token {
    const t = this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
    if (t === undefined) throw new Error('token list is empty'); // tokenize always appends eof
    return t;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.index += 1;
    return t;
  }

  private fail(code: PolicySyntaxErrorCode, message: string, pos: SourcePosition): never {
    throw new PolicySyntaxError(code, message, pos);
  }

  private expect(kind: TokenKind, what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) {
      this.fail('ERR_POLICY_UNEXPECTED_TOKEN', `expected ${what}, found ${describe(t)}`, t.pos);
    }
    return this.next();
  }

  private isKeyword(token: Token, word: string): boolean {
    return token.kind === 'ident' && token.value.toLowerCase() === word;
  }

  private expectKeyword(word: string, what: string = `'${word}'`): Token {
    const t = this.peek();
    if (!this.isKeyword(t, word)) {
      this.fail('ERR_POLICY_UNEXPECTED_TOKEN', `expected ${what}, found ${describe(t)}`, t.pos);
    }
    return this.next();
  }

  // ---- policy and sections -------------------------------------------------------------------

  policy(): Policy {
    this.expectKeyword('version', "'version=' at the start of the policy");
    this.expect('=', "'=' after 'version'");
    const v = this.peek();
    if (v.kind !== 'number') {
      this.fail(
        'ERR_POLICY_UNEXPECTED_TOKEN',
        `expected a version number (1.0, 1.1 or 1.2), found ${describe(v)}`,
        v.pos,
      );
    }
    if (!(VERSIONS as readonly string[]).includes(v.value)) {
      this.fail(
        'ERR_POLICY_VERSION_UNSUPPORTED',
        `unsupported policy version ${v.value}; supported: ${VERSIONS.join(', ')}`,
        v.pos,
      );
    }
    this.version = v.value as PolicyVersion;
    this.next();
    this.expect(';', "';' after the version statement");

    const sections = new Map<SectionName, Section>();
    let lastRank = -1;
    while (this.peek().kind !== 'eof') {
      const head = this.peek();
      if (head.kind !== 'ident') {
        this.fail(
          'ERR_POLICY_UNEXPECTED_TOKEN',
          `expected a section name, found ${describe(head)}`,
          head.pos,
        );
      }
      const name = head.value.toLowerCase() as SectionName;
      const rank = SECTION_ORDER.indexOf(name);
      if (rank < 0) {
        this.fail(
          'ERR_POLICY_SECTION',
          `unknown section '${head.value}'; expected ${SECTION_ORDER.join(', ')}`,
          head.pos,
        );
      }
      if (sections.has(name)) this.fail('ERR_POLICY_SECTION', `section '${name}' appears twice`, head.pos);
      if (rank < lastRank) {
        this.fail(
          'ERR_POLICY_SECTION',
          `section '${name}' is out of order; the order is ${SECTION_ORDER.join(', ')}`,
          head.pos,
        );
      }
      if (name === 'issuancerules' && !sections.has('authorizationrules')) {
        this.fail(
          'ERR_POLICY_SECTION',
          "missing section 'authorizationrules' before 'issuancerules'",
          head.pos,
        );
      }
      if (name === 'configurationrules' && !versionAtLeast(this.version, '1.1')) {
        this.fail(
          'ERR_POLICY_VERSION_FEATURE',
          `'configurationrules' needs policy version 1.1 or later (this policy is ${this.version})`,
          head.pos,
        );
      }
      lastRank = rank;
      this.next();
      sections.set(name, this.sectionBody(name, head.pos));
    }

    const end = this.peek().pos;
    const authorizationRules = sections.get('authorizationrules');
    if (authorizationRules === undefined) {
      this.fail('ERR_POLICY_SECTION', "missing section 'authorizationrules'", end);
    }
    const issuanceRules = sections.get('issuancerules');
    if (issuanceRules === undefined) this.fail('ERR_POLICY_SECTION', "missing section 'issuancerules'", end);
    const configurationRules = sections.get('configurationrules');
    return {
      version: this.version,
      ...(configurationRules === undefined ? {} : { configurationRules }),
      authorizationRules,
      issuanceRules,
      ruleCount: this.ruleCount,
    };
  }

  private sectionBody(name: SectionName, pos: SourcePosition): Section {
    this.expect('{', `'{' after '${name}'`);
    const rules: Rule[] = [];
    while (this.peek().kind !== '}') {
      if (this.peek().kind === 'eof') {
        this.fail('ERR_POLICY_UNEXPECTED_TOKEN', `section '${name}' is not closed with '}'`, this.peek().pos);
      }
      rules.push(this.rule(name));
    }
    this.next();
    this.expect(';', `';' after the closing '}' of '${name}'`);
    return { name, rules, pos };
  }

  // ---- rules ---------------------------------------------------------------------------------

  private rule(section: SectionName): Rule {
    const pos = this.peek().pos;
    this.ruleCount += 1;
    if (this.ruleCount > POLICY_LIMITS.maxRules) {
      this.fail('ERR_POLICY_LIMIT', `more than ${POLICY_LIMITS.maxRules} rules`, pos);
    }
    this.scope = new Set();
    const conditions: Condition[] = [];
    if (this.peek().kind !== '=>') {
      conditions.push(this.condition());
      while (this.peek().kind === '&&') {
        this.next();
        if (conditions.length >= POLICY_LIMITS.maxConditionsPerRule) {
          this.fail(
            'ERR_POLICY_LIMIT',
            `more than ${POLICY_LIMITS.maxConditionsPerRule} conditions in one rule`,
            this.peek().pos,
          );
        }
        conditions.push(this.condition());
      }
    }
    this.expect('=>', conditions.length === 0 ? "a condition '[...]' or '=>'" : "'&&' or '=>'");
    const action = this.action(section);
    this.expect(';', "';' after the rule's action");
    return { conditions, action, pos };
  }

  private condition(): Condition {
    const pos = this.peek().pos;
    let negated = false;
    if (this.peek().kind === '!') {
      if (!versionAtLeast(this.version, '1.2')) {
        this.fail(
          'ERR_POLICY_VERSION_FEATURE',
          `the '!' (claim absence) condition needs policy version 1.2 (this policy is ${this.version})`,
          pos,
        );
      }
      negated = true;
      this.next();
    }
    let variable: string | undefined;
    if (this.peek().kind === 'ident' && this.peek(1).kind === ':') {
      const v = this.next();
      this.next();
      if (negated) {
        this.fail(
          'ERR_POLICY_DUPLICATE_VARIABLE',
          `a negated condition matches no claim, so it cannot bind '${v.value}'`,
          v.pos,
        );
      }
      if (this.scope.has(v.value)) {
        this.fail(
          'ERR_POLICY_DUPLICATE_VARIABLE',
          `claim variable '${v.value}' is bound twice in one rule`,
          v.pos,
        );
      }
      variable = v.value;
    }
    this.expect('[', "'[' to open a condition");
    const tests: PropertyTest[] = [this.propertyTest()];
    while (this.peek().kind === ',') {
      this.next();
      if (tests.length >= POLICY_LIMITS.maxTestsPerCondition) {
        this.fail(
          'ERR_POLICY_LIMIT',
          `more than ${POLICY_LIMITS.maxTestsPerCondition} tests in one condition`,
          this.peek().pos,
        );
      }
      tests.push(this.propertyTest());
    }
    this.expect(']', "',' or ']' in a condition");
    if (variable !== undefined) this.scope.add(variable);
    return { negated, ...(variable === undefined ? {} : { variable }), tests, pos };
  }

  private claimProperty(what: string): { property: ClaimProperty; pos: SourcePosition } {
    const t = this.peek();
    const property = t.kind === 'ident' ? PROPERTIES[t.value.toLowerCase()] : undefined;
    if (property === undefined) {
      this.fail(
        'ERR_POLICY_UNEXPECTED_TOKEN',
        `expected ${what} (type, value, issuer, valueType), found ${describe(t)}`,
        t.pos,
      );
    }
    this.next();
    return { property, pos: t.pos };
  }

  private propertyTest(): PropertyTest {
    const { property, pos } = this.claimProperty('a claim property');
    const op = this.peek();
    if (!COMPARATORS.has(op.kind)) {
      this.fail(
        'ERR_POLICY_UNEXPECTED_TOKEN',
        `expected a comparator (==, !=, <, <=, >, >=), found ${describe(op)}`,
        op.pos,
      );
    }
    this.next();
    const comparator: Comparator = op.kind === '=' ? '==' : (op.kind as Comparator);
    const expr = this.expression(0);
    this.checkComparison(property, comparator, expr, op.pos);
    if (property === 'valueType' && expr.kind === 'literal' && typeof expr.value === 'string') {
      const canonical = VALUE_TYPES[expr.value.toLowerCase()];
      if (canonical === undefined) {
        this.fail(
          'ERR_POLICY_COMPARATOR_TYPE',
          `valueType is one of String, Integer, Boolean; got ${JSON.stringify(expr.value)}`,
          expr.pos,
        );
      }
      return { property, comparator, expr: { ...expr, value: canonical }, pos };
    }
    return { property, comparator, expr, pos };
  }

  /** Static type checks for a property test (spec §3.3: ordering only for Integer). */
  private checkComparison(
    property: ClaimProperty,
    comparator: Comparator,
    expr: Expression,
    pos: SourcePosition,
  ): void {
    const ordering = comparator !== '==' && comparator !== '!=';
    if (ordering && property !== 'value') {
      this.fail(
        'ERR_POLICY_COMPARATOR_TYPE',
        `'${comparator}' compares Integers; '${property}' is a String`,
        pos,
      );
    }
    if (expr.kind === 'literal') {
      if (ordering && typeof expr.value !== 'number') {
        this.fail(
          'ERR_POLICY_COMPARATOR_TYPE',
          `'${comparator}' needs an Integer operand, got ${JSON.stringify(expr.value)}`,
          expr.pos,
        );
      }
      if (property !== 'value' && typeof expr.value !== 'string') {
        this.fail(
          'ERR_POLICY_COMPARATOR_TYPE',
          `'${property}' is a String; it cannot equal ${JSON.stringify(expr.value)}`,
          expr.pos,
        );
      }
    } else if (expr.kind === 'claimRef' && ordering && expr.property !== 'value') {
      this.fail(
        'ERR_POLICY_COMPARATOR_TYPE',
        `'${comparator}' needs an Integer operand; '${expr.variable}.${expr.property}' is a String`,
        expr.pos,
      );
    }
  }

  // ---- expressions ---------------------------------------------------------------------------

  private expression(depth: number): Expression {
    const t = this.peek();
    if (depth > POLICY_LIMITS.maxExpressionDepth) {
      this.fail(
        'ERR_POLICY_LIMIT',
        `function calls nested deeper than ${POLICY_LIMITS.maxExpressionDepth}`,
        t.pos,
      );
    }
    if (t.kind === 'string') {
      this.next();
      return { kind: 'literal', value: t.value, pos: t.pos };
    }
    if (t.kind === 'number') {
      this.next();
      if (!/^-?\d+$/.test(t.value)) {
        this.fail(
          'ERR_POLICY_INVALID_NUMBER',
          `${t.value} is not an Integer; the language has no fractions`,
          t.pos,
        );
      }
      const n = Number(t.value);
      if (!Number.isSafeInteger(n)) {
        this.fail('ERR_POLICY_INVALID_NUMBER', `${t.value} is outside the safe integer range`, t.pos);
      }
      return { kind: 'literal', value: n, pos: t.pos };
    }
    if (t.kind === 'ident') {
      const after = this.peek(1).kind;
      if (after === '.') return this.claimRef();
      if (after === '(') return this.call(depth);
      const lower = t.value.toLowerCase();
      if (lower === 'true' || lower === 'false') {
        this.next();
        return { kind: 'literal', value: lower === 'true', pos: t.pos };
      }
      if (this.scope.has(t.value)) {
        this.fail(
          'ERR_POLICY_UNEXPECTED_TOKEN',
          `claim variable '${t.value}' needs a property, e.g. '${t.value}.value'`,
          t.pos,
        );
      }
    }
    this.fail(
      'ERR_POLICY_UNEXPECTED_TOKEN',
      `expected a value (string, integer, true/false, c.value or a function call), found ${describe(t)}`,
      t.pos,
    );
  }

  private claimRef(): Expression {
    const v = this.next();
    if (!this.scope.has(v.value)) {
      this.fail(
        'ERR_POLICY_UNBOUND_VARIABLE',
        `claim variable '${v.value}' is not bound by an earlier condition of this rule`,
        v.pos,
      );
    }
    this.next(); // '.'
    const { property } = this.claimProperty(`a property after '${v.value}.'`);
    return { kind: 'claimRef', variable: v.value, property, pos: v.pos };
  }

  private call(depth: number): Expression {
    const nameToken = this.next();
    const def = FUNCTIONS.get(nameToken.value.toLowerCase());
    if (def === undefined) {
      this.fail('ERR_POLICY_UNKNOWN_FUNCTION', `unknown function '${nameToken.value}'`, nameToken.pos);
    }
    if (!versionAtLeast(this.version, '1.2')) {
      this.fail(
        'ERR_POLICY_VERSION_FEATURE',
        `function '${def.name}' needs policy version 1.2 (this policy is ${this.version})`,
        nameToken.pos,
      );
    }
    this.next(); // '('
    const args: Expression[] = [];
    if (this.peek().kind !== ')') {
      args.push(this.expression(depth + 1));
      while (this.peek().kind === ',') {
        this.next();
        if (args.length >= MAX_CALL_ARGS) {
          this.fail(
            'ERR_POLICY_ARITY',
            `'${def.name}' takes ${def.arity} argument${def.arity === 1 ? '' : 's'}`,
            nameToken.pos,
          );
        }
        args.push(this.expression(depth + 1));
      }
    }
    this.expect(')', `',' or ')' in the arguments of '${def.name}'`);
    if (args.length !== def.arity) {
      this.fail(
        'ERR_POLICY_ARITY',
        `'${def.name}' takes ${def.arity} argument${def.arity === 1 ? '' : 's'}, got ${args.length}`,
        nameToken.pos,
      );
    }
    return { kind: 'call', name: def.name as FunctionName, args, pos: nameToken.pos };
  }

  // ---- actions -------------------------------------------------------------------------------

  private action(section: SectionName): Action {
    const t = this.peek();
    const name = t.kind === 'ident' ? t.value.toLowerCase() : '';
    if (!ACTION_NAMES.has(name)) {
      this.fail(
        'ERR_POLICY_UNEXPECTED_TOKEN',
        `expected an action (permit, deny, add, issue, issueproperty), found ${describe(t)}`,
        t.pos,
      );
    }
    const kind = name as Action['kind'];
    if (!ALLOWED_ACTIONS[section].has(kind)) {
      const allowed = [...ALLOWED_ACTIONS[section]].join(', ');
      this.fail(
        'ERR_POLICY_ACTION_NOT_ALLOWED',
        `'${kind}' is not allowed in ${section} (allowed: ${allowed})`,
        t.pos,
      );
    }
    this.next();
    this.expect('(', `'(' after '${kind}'`);
    if (kind === 'permit' || kind === 'deny') {
      this.expect(')', `')': '${kind}()' takes no arguments`);
      return { kind, pos: t.pos };
    }
    const spec = this.claimSpec(kind);
    this.expect(')', `',' or ')' to close '${kind}('`);
    return { kind, spec, pos: t.pos };
  }

  private claimSpec(action: string): ClaimSpec {
    const pos = this.peek().pos;
    if (this.isKeyword(this.peek(), 'claim')) {
      this.next();
      this.expect('=', "'=' after 'claim'");
      const v = this.expect('ident', "a claim variable after 'claim='");
      if (!this.scope.has(v.value)) {
        this.fail(
          'ERR_POLICY_UNBOUND_VARIABLE',
          `claim variable '${v.value}' is not bound by a condition of this rule`,
          v.pos,
        );
      }
      return { kind: 'copy', variable: v.value, pos };
    }
    let type: Expression | undefined;
    let value: Expression | undefined;
    let valueType: 'String' | 'Integer' | 'Boolean' | undefined;
    for (;;) {
      const key = this.peek();
      const k = key.kind === 'ident' ? key.value.toLowerCase() : '';
      if (k !== 'type' && k !== 'value' && k !== 'valuetype') {
        this.fail(
          'ERR_POLICY_INVALID_CLAIM_SPEC',
          `expected 'type=', 'value=', 'valueType=' or 'claim=' in ${action}(...), found ${describe(key)}`,
          key.pos,
        );
      }
      if ((k === 'type' && type) || (k === 'value' && value) || (k === 'valuetype' && valueType)) {
        this.fail(
          'ERR_POLICY_INVALID_CLAIM_SPEC',
          `'${key.value}' is given twice in ${action}(...)`,
          key.pos,
        );
      }
      this.next();
      this.expect('=', `'=' after '${key.value}'`);
      const expr = this.expression(0);
      if (k === 'type') {
        if (expr.kind === 'literal' && (typeof expr.value !== 'string' || expr.value.length === 0)) {
          this.fail('ERR_POLICY_INVALID_CLAIM_SPEC', 'a claim type must be a non-empty string', expr.pos);
        }
        type = expr;
      } else if (k === 'value') {
        value = expr;
      } else {
        const canonical =
          expr.kind === 'literal' && typeof expr.value === 'string'
            ? VALUE_TYPES[expr.value.toLowerCase()]
            : undefined;
        if (canonical === undefined) {
          this.fail(
            'ERR_POLICY_INVALID_CLAIM_SPEC',
            'valueType must be "String", "Integer" or "Boolean"',
            expr.pos,
          );
        }
        valueType = canonical;
      }
      if (this.peek().kind !== ',') break;
      this.next();
    }
    if (type === undefined || value === undefined) {
      this.fail(
        'ERR_POLICY_INVALID_CLAIM_SPEC',
        `${action}(...) needs both 'type=' and 'value=' (or 'claim=')`,
        pos,
      );
    }
    if (valueType !== undefined && value.kind === 'literal') {
      const actual =
        typeof value.value === 'string' ? 'String' : typeof value.value === 'number' ? 'Integer' : 'Boolean';
      if (actual !== valueType) {
        this.fail(
          'ERR_POLICY_INVALID_CLAIM_SPEC',
          `value ${JSON.stringify(value.value)} is not of valueType ${valueType}`,
          value.pos,
        );
      }
    }
    return { kind: 'build', type, value, ...(valueType === undefined ? {} : { valueType }), pos };
  }
}
