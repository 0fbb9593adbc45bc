// Properties of the CLI's number parsing: every string either parses to the number its decimal text denotes, or
// is refused with commander's InvalidArgumentError quoting the argument as typed. Never anything else.
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { integer, integerAtLeast, lrGrid, optimizerOption, positiveNumber, workers } from '../src/parse.js';

/** Characters that make up numbers and their look-alikes, so that random strings often come close. */
const numberish = fc.string({
  unit: fc.constantFrom(...'0123456789.eE+-_xXbBoO ,=InfityNa\t'.split('')),
  maxLength: 12,
});
const anyString = fc.oneof(numberish, fc.string({ unit: 'binary', maxLength: 12 }));

/** Decimal notation built from its parts: sign, digits, fraction, exponent. */
const decimalText = fc
  .tuple(
    fc.constantFrom('', '+', '-'),
    fc.stringMatching(/^\d{1,12}$/),
    fc.option(fc.stringMatching(/^\d{0,8}$/), { nil: undefined }),
    fc.option(
      fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 })),
      {
        nil: undefined,
      },
    ),
  )
  .map(
    ([sign, digits, fraction, exp]) =>
      `${sign}${digits}${fraction === undefined ? '' : `.${fraction}`}${exp ? `${exp[0]}${exp[1]}${exp[2]}` : ''}`,
  );

type Parser = (text: string) => unknown;

/** Parses `text`, or checks that the refusal is the usage error quoting it; returns undefined when refused. */
function parseOrRefuse(parse: Parser, text: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(`'${text}'`);
    return undefined;
  }
}

/** What a parsed number must satisfy: the decimal reading of the whole text, nothing looser. */
function expectDecimalReading(text: string, value: number): void {
  expect(text).toMatch(/^[-+0-9.eE]+$/);
  expect(value).toBe(Number.parseFloat(text)); // parseFloat reads decimal only (0x10 → 0, 1_000 → 1)
}

describe('number options', () => {
  const parsers: [string, Parser, (n: number) => boolean][] = [
    ['positiveNumber', positiveNumber, (n) => Number.isFinite(n) && n > 0],
    ['integer', integer, (n) => Number.isSafeInteger(n)],
    ['integerAtLeast(1)', integerAtLeast(1), (n) => Number.isSafeInteger(n) && n >= 1],
    ['workers', workers, (n) => Number.isSafeInteger(n) && n >= 1 && n <= 64],
  ];

  test.each(parsers)(
    '%s: any string parses to its decimal reading or is refused quoting it',
    (_, parse, ok) => {
      fc.assert(
        fc.property(fc.oneof(anyString, decimalText), (text) => {
          const value = parseOrRefuse(parse, text);
          if (value === undefined || value === 'auto') return;
          expectDecimalReading(text, value as number);
          expect(ok(value as number)).toBe(true);
        }),
        { numRuns: 2000 },
      );
    },
  );

  test.each(parsers)('%s: decimal text is accepted exactly when its value is in range', (_, parse, ok) => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const expected = Number.parseFloat(text);
        const value = parseOrRefuse(parse, text);
        expect(value).toBe(ok(expected) ? expected : undefined);
      }),
      { numRuns: 2000 },
    );
  });

  test('every finite positive double round-trips through its own decimal text', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(positiveNumber(String(x))).toBe(x);
        expect(positiveNumber(x.toExponential())).toBe(x);
      }),
      { numRuns: 2000 },
    );
  });

  test('every safe integer round-trips through its decimal text', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(integer(String(n))).toBe(n);
      }),
    );
  });

  test.each(['0x10', '0b1', '0o7', '', ' 1', '1 ', '1_000', 'Infinity', '-Infinity', 'NaN', '1e', '.', '+'])(
    '%j is refused by every number option',
    (text) => {
      for (const [, parse] of parsers) {
        expect(() => parse(text)).toThrow(InvalidArgumentError);
        expect(() => parse(text)).toThrow(`'${text}'`);
      }
    },
  );
});

describe('list and key=value options', () => {
  test('--lrs: a grid of decimal learning rates, or an error quoting the whole argument', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          fc.array(decimalText, { minLength: 1, maxLength: 3 }).map((a) => a.join(',')),
        ),
        (text) => {
          let grid: ReturnType<typeof lrGrid>;
          try {
            grid = lrGrid(text, undefined);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidArgumentError);
            expect((error as Error).message).toContain(`'${text}'`);
            return;
          }
          const rates = grid.all ?? Object.values(grid.byOptimizer)[0]!;
          const list = text.includes('=') ? text.slice(text.indexOf('=') + 1) : text;
          expect(rates).toEqual(list.split(',').map((p) => Number.parseFloat(p)));
          for (const r of rates) expect(Number.isFinite(r) && r > 0).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('--lrs sgd= quotes what was typed', () => {
    expect(() => lrGrid('sgd=', undefined)).toThrow("'sgd=' has an empty learning rate");
  });

  test('--opt: only decimal text becomes a number', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, decimalText), (text) => {
        const arg = `momentum=${text}`;
        let options: Record<string, unknown>;
        try {
          options = optimizerOption(arg, undefined);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect((error as Error).message).toContain(`'${arg}'`);
          return;
        }
        const value = options.momentum;
        if (typeof value === 'number') expectDecimalReading(text.trim(), value);
        else if (typeof value === 'string') expect(value).toBe(text.trim());
      }),
      { numRuns: 2000 },
    );
    expect(optimizerOption('momentum=0x10', undefined)).toEqual({ momentum: '0x10' });
  });
});
