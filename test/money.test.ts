import { costToMicros, microsToUsd, usdToMicros } from '../src/limits/money';

describe('money conversions', () => {
  test('settings and caps round down to whole micro-dollars, never up', () => {
    expect(usdToMicros(0.01)).toBe(10_000);
    expect(usdToMicros(1)).toBe(1_000_000);
    expect(usdToMicros(0.0000019)).toBe(1);
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
  });

  test('reported costs round up to whole micro-dollars, and float noise does not add one', () => {
    expect(costToMicros(0.0001)).toBe(100);
    expect(costToMicros(0.0002)).toBe(200);
    expect(costToMicros(0.0000004)).toBe(1);
    expect(costToMicros(0.000123456)).toBe(124);
    expect(costToMicros(0)).toBe(0);
  });

  test('micro-dollars read back as dollars', () => {
    expect(microsToUsd(10_200)).toBe(0.0102);
  });
});
