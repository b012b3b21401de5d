// The one error bad scenario input raises: the field and what is allowed, on one line.

export class ScenarioError extends Error {
  constructor(public field: string, public allowed: string, public detail?: string) {
    // Field 'scenario' is the input as a whole (a name, a file): there the detail says it all.
    super(`scenario: ${ScenarioError.text(field, allowed, detail)}`);
    this.name = 'ScenarioError';
  }

  /** "<field> must be <allowed> (<detail>)" on one line: Node's messages (JSON.parse quotes the source) may span lines. */
  static text(field: string, allowed: string, detail?: string): string {
    const text = field === 'scenario' && detail !== undefined ? detail : `${field} must be ${allowed}${detail ? ` (${detail})` : ''}`;
    return text.replace(/\s*[\r\n]+\s*/g, ' ');
  }
}
