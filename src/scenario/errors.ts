// The one error bad scenario input raises: the field and what is allowed, on one line.

export class ScenarioError extends Error {
  constructor(public field: string, public allowed: string, detail?: string) {
    // Field 'scenario' is the input as a whole (a name, a file): there the detail says it all.
    const text = field === 'scenario' && detail !== undefined ? detail : `${field} must be ${allowed}${detail ? ` (${detail})` : ''}`;
    // Node's messages (JSON.parse quotes the source) may span lines; reports want one.
    super(`scenario: ${text}`.replace(/\s*[\r\n]+\s*/g, ' '));
    this.name = 'ScenarioError';
  }
}
