/** A known workload for the integration tests: every counter has a value worked out by hand. */
export interface FourCalls {
  granuleOpen(id: number): void;
  granuleClose(id: number): boolean;
  allocRegister(granuleId: number, allocId: number, size: number, site?: { file: string; line: number; column: number }): void;
  allocDeregister(granuleId: number, allocId: number): void;
}

export const SITE_SESSION = { file: '/app/session.js', line: 12, column: 5 };
export const SITE_REQUEST = { file: '/app/request.js', line: 30, column: 9 };

/**
 * Ten granules of three allocations each: seven close drainable, three close pinned by their
 * last allocation (registered at SITE_SESSION, 100 bytes); two more granules stay open with three
 * live allocations each.
 *   closes: 7 drainable, 3 pinned (DSR 0.7); open granules 2, peak 2 (the first ten open one at
 *   a time); allocations 12*3 = 36; deallocations 7*3 + 3*2 = 27.
 */
export function knownWorkload(p: FourCalls): void {
  let alloc = 0;
  for (let g = 1; g <= 10; g++) {
    p.granuleOpen(g);
    const ids = [++alloc, ++alloc, ++alloc];
    p.allocRegister(g, ids[0], 10, SITE_REQUEST);
    p.allocRegister(g, ids[1], 10, SITE_REQUEST);
    p.allocRegister(g, ids[2], 100, g > 7 ? SITE_SESSION : SITE_REQUEST);
    p.allocDeregister(g, ids[0]);
    p.allocDeregister(g, ids[1]);
    if (g <= 7) p.allocDeregister(g, ids[2]);
    p.granuleClose(g);
  }
  for (let g = 11; g <= 12; g++) {
    p.granuleOpen(g);
    for (let i = 0; i < 3; i++) p.allocRegister(g, ++alloc, 1, SITE_REQUEST);
  }
}

export const EXPECTED = {
  drainableCloses: 7,
  pinnedCloses: 3,
  totalCloses: 10,
  dsr: 0.7,
  openGranules: 2,
  peakOpenGranules: 2,
  totalAllocs: 36,
  totalDeallocs: 27,
};

/** The `.code` of what `f` throws; undefined when it throws nothing (or an uncoded error). */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}
