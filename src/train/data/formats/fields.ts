// Reading one named value of a row, with a reason the bad-row report can show when it is wrong.

/** Thrown by a format for a row it cannot use; the pipeline adds the row's location. */
export class RowProblem extends Error {}

export function stringField(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (value === undefined || value === null) {
    throw new RowProblem(`no '${name}' field (the row has ${Object.keys(values).join(', ') || 'no fields'})`);
  }
  if (typeof value !== 'string') throw new RowProblem(`'${name}' must be a string, not ${typeof value}`);
  return value;
}
