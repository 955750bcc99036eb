// Typed errors. Each names the offending value and, where one exists, the fix.

/** Base class of every error peftjs throws on purpose. `code` is stable and machine-readable. */
export class PeftError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul, views, concatenation). */
export class ShapeError extends PeftError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

/** A dtype an operation does not accept, or two dtypes that cannot meet. */
export class DTypeError extends PeftError {
  constructor(message: string) {
    super('E_DTYPE', message);
  }
}

/** An index or axis out of range. */
export class IndexError extends PeftError {
  constructor(message: string) {
    super('E_INDEX', message);
  }
}

/** Misuse of autograd: backward from a non-scalar without a gradient, a freed graph, ... */
export class AutogradError extends PeftError {
  constructor(message: string) {
    super('E_AUTOGRAD', message);
  }
}

/** Use of a tensor after `dispose()` (directly or by a scope that ended). */
export class DisposedError extends PeftError {
  constructor(message: string) {
    super('E_DISPOSED', message);
  }
}

/** An argument outside what a function accepts (negative sizes, bad options, ...). */
export class ValueError extends PeftError {
  constructor(message: string) {
    super('E_VALUE', message);
  }
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
