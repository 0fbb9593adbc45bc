// The FMA build of a WAT source: every folded `(f32x4.add X (f32x4.mul A B))` or `(f32x4.add (f32x4.mul A B) X)`
// becomes `(f32x4.relaxed_madd A B X)` (relaxed SIMD: a·b + x, fused or not as the engine chooses), so the portable
// and the FMA kernels come from one source. Everything else is kept byte for byte.
//
// Folded operands run left to right, and relaxed_madd runs A, B, then X. Where X came first, it moves after A and
// B, so that form is fused only when the move cannot change a value: X has no side effect and A and B write no
// local (no local.set/tee, global.set, call, store or block in either); otherwise it stays unfused.

/** The WAT text as a tree of lists `{ start, end, items }` and atoms `{ start, end, atom }` (comments skipped). */
function parse(text) {
  const root = { start: 0, end: text.length, items: [] };
  const stack = [root];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ';' && text[i + 1] === ';') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (c === '(' && text[i + 1] === ';') {
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        const opens = text.startsWith('(;', i);
        const closes = text.startsWith(';)', i);
        depth += opens ? 1 : closes ? -1 : 0;
        i += opens || closes ? 2 : 1;
      }
    } else if (c === '(') {
      const list = { start: i, end: -1, items: [] };
      stack.at(-1).items.push(list);
      stack.push(list);
      i++;
    } else if (c === ')') {
      const list = stack.pop();
      if (stack.length === 0) throw new Error(`unbalanced ')' at offset ${i}`);
      list.end = i + 1;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else {
      const start = i;
      if (c === '"') {
        i++;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
        i++;
      } else {
        while (i < text.length && !/[\s()"]/.test(text[i]) && !text.startsWith(';;', i)) i++;
      }
      stack.at(-1).items.push({ start, end: i, atom: text.slice(start, i) });
    }
  }
  if (stack.length !== 1) throw new Error('unbalanced parentheses: a list is not closed');
  return root;
}

const head = (node) => node.items?.[0]?.atom;
const isOp = (node, op) => head(node) === op && node.items.length === 3;
const EFFECTS =
  /^(local\.set|local\.tee|global\.set|call|call_indirect|block|loop|if|.*\.store.*|memory\..*)$/;

function hasEffects(node) {
  if (node.atom != null) return EFFECTS.test(node.atom);
  return node.items.some(hasEffects);
}

/**
 * The FMA form of `text` and how many multiply-adds it fused (and left unfused because of their order of
 * evaluation).
 */
export function fuseMultiplyAdds(text) {
  const counts = { fused: 0, unfused: 0 };
  const emit = (node) => {
    if (node.atom != null) return node.atom;
    if (isOp(node, 'f32x4.add')) {
      const [, left, right] = node.items;
      const mulFirst = isOp(left, 'f32x4.mul');
      const mulSecond = !mulFirst && isOp(right, 'f32x4.mul');
      if (mulFirst || mulSecond) {
        const [mul, addend] = mulFirst ? [left, right] : [right, left];
        const [, a, b] = mul.items;
        if (mulFirst || !(hasEffects(addend) || hasEffects(a) || hasEffects(b))) {
          counts.fused++;
          return `(f32x4.relaxed_madd ${emit(a)} ${emit(b)} ${emit(addend)})`;
        }
        counts.unfused++;
      }
    }
    // Keep the source between the children (whitespace, comments), re-emitting each child.
    let out = '';
    let at = node.start;
    for (const item of node.items) {
      out += text.slice(at, item.start) + emit(item);
      at = item.end;
    }
    return out + text.slice(at, node.end);
  };
  return { text: emit(parse(text)), ...counts };
}
