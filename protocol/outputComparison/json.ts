// Two JSON documents: the same shape, numbers within the tolerance. Walked
// with an explicit stack, so a hostile document nested 100,000 deep costs
// memory in proportion, never the call stack; object keys in sorted order, so
// the walk (and the place it reports) is the same whichever run is "a".
import { NumberTally, numbersComparisonOf, shown, unparsedComparison, type Mismatch, type NumbersComparison, type Place, type Tolerance } from "./numbers.ts";

/** A step down from the document's root; the pointer is only spelled out for a place reported. */
interface PathNode {
  parent: PathNode | null;
  token: string | number;
}

interface Step {
  a: unknown;
  b: unknown;
  path: PathNode | null;
}

type Kind = "null" | "array" | "object" | "number" | "string" | "boolean";

export function compareJsonTexts(a: string, b: string, tolerance: Tolerance): NumbersComparison {
  const parsedA = parseJson(a);
  const parsedB = parseJson(b);
  if ("error" in parsedA || "error" in parsedB) {
    return unparsedComparison("JSON", a, b, "error" in parsedA ? parsedA.error : undefined, "error" in parsedB ? parsedB.error : undefined, tolerance);
  }
  const tally = new NumberTally(tolerance);
  let worst: { path: PathNode | null; a: number; b: number } | null = null;
  const stack: Step[] = [{ a: parsedA.value, b: parsedB.value, path: null }];
  const done = (mismatch: Mismatch | null) =>
    numbersComparisonOf(tally, worst && { at: pointerOf(worst.path), a: String(worst.a), b: String(worst.b) }, mismatch);

  while (stack.length > 0) {
    const step = stack.pop()!;
    const [kindA, kindB] = [kindOf(step.a), kindOf(step.b)];
    if (kindA !== kindB) return done({ ...placeOf(step), why: "the types differ" });
    switch (kindA) {
      case "number":
        if (tally.record(step.a as number, step.b as number)) worst = { path: step.path, a: step.a as number, b: step.b as number };
        break;
      case "string":
        if (step.a !== step.b) return done({ ...placeOf(step), why: "the strings differ" });
        break;
      case "boolean":
        if (step.a !== step.b) return done({ ...placeOf(step), why: "the booleans differ" });
        break;
      case "null":
        break;
      case "array": {
        const [arrayA, arrayB] = [step.a as unknown[], step.b as unknown[]];
        if (arrayA.length !== arrayB.length) return done({ ...placeOf(step), why: "the arrays differ in length" });
        for (let i = arrayA.length - 1; i >= 0; i--) stack.push({ a: arrayA[i], b: arrayB[i], path: { parent: step.path, token: i } });
        break;
      }
      case "object": {
        const [objectA, objectB] = [step.a as Record<string, unknown>, step.b as Record<string, unknown>];
        const [keysA, keysB] = [Object.keys(objectA).sort(), Object.keys(objectB).sort()];
        const keyMismatch = differentKeys(keysA, keysB);
        if (keyMismatch) return done({ at: pointerOf(step.path), ...keyMismatch, why: "the objects have different keys" });
        for (let i = keysA.length - 1; i >= 0; i--) stack.push({ a: objectA[keysA[i]!], b: objectB[keysA[i]!], path: { parent: step.path, token: keysA[i]! } });
        break;
      }
    }
  }
  return done(null);
}

function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    // A UTF-8 byte-order mark is not JSON, but some tools write one.
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch (error) {
    // A SyntaxError, or a RangeError should an engine ever parse recursively: either way, not JSON this comparison can judge.
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function kindOf(value: unknown): Kind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value as "object" | "number" | "string" | "boolean";
}

function placeOf(step: Step): Place {
  return { at: pointerOf(step.path), a: describeValue(step.a), b: describeValue(step.b) };
}

function describeValue(value: unknown): string {
  switch (kindOf(value)) {
    case "array":
      return `an array of ${(value as unknown[]).length}`;
    case "object":
      return `an object of ${Object.keys(value as object).length} keys`;
    case "string":
      return `the string ${JSON.stringify(shown(value as string))}`;
    case "number":
      return `the number ${String(value)}`;
    default:
      return String(value);
  }
}

/** The keys only one object has (a few of each), from both sorted key lists in one merge; undefined when they are the same. */
function differentKeys(keysA: readonly string[], keysB: readonly string[]): { a: string; b: string } | undefined {
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  let [i, j] = [0, 0];
  while (i < keysA.length || j < keysB.length) {
    if (j >= keysB.length || (i < keysA.length && keysA[i]! < keysB[j]!)) onlyA.push(keysA[i++]!);
    else if (i >= keysA.length || keysB[j]! < keysA[i]!) onlyB.push(keysB[j++]!);
    else [i, j] = [i + 1, j + 1];
  }
  if (onlyA.length === 0 && onlyB.length === 0) return undefined;
  return { a: keysOnlyHere(onlyA), b: keysOnlyHere(onlyB) };
}

function keysOnlyHere(keys: readonly string[]): string {
  if (keys.length === 0) return "no other keys";
  const named = keys.slice(0, 3).map((key) => JSON.stringify(shown(key)));
  return `only here: ${named.join(", ")}${keys.length > 3 ? ` and ${keys.length - 3} more` : ""}`;
}

/** The most of a pointer a report spells out: its end, the most specific part, is what is kept. */
const SHOWN_POINTER_CHARS = 240;

/** RFC 6901: `/loss/3`; "" is the whole document. A hostile document's path is cut to its last steps. */
function pointerOf(path: PathNode | null): string {
  const tokens: string[] = [];
  let length = 0;
  for (let node = path; node; node = node.parent) {
    if (length > SHOWN_POINTER_CHARS) return `…${tokens.reverse().join("")}`;
    const token = `/${shown(String(node.token)).replaceAll("~", "~0").replaceAll("/", "~1")}`;
    tokens.push(token);
    length += token.length;
  }
  return tokens.reverse().join("");
}
