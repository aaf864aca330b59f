/** Least-squares line through points, with the coefficient of determination. */
export interface LinearFit {
  slope: number;
  intercept: number;
  /** R² of the fit; null when the points have no variance (a flat series: nothing to explain). */
  r2: number | null;
}

export function linearFit(points: readonly (readonly [number, number])[]): LinearFit {
  const n = points.length;
  if (n === 0) return { slope: 0, intercept: 0, r2: null };
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (y - my);
    syy += (y - my) * (y - my);
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const intercept = my - slope * mx;
  if (syy === 0) return { slope, intercept, r2: null };
  let ssRes = 0;
  for (const [x, y] of points) {
    const r = y - (intercept + slope * x);
    ssRes += r * r;
  }
  return { slope, intercept, r2: 1 - ssRes / syy };
}
