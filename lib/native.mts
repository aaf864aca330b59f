/**
 * ES module entry of `drainprof/native`: the same values as the CommonJS entry.
 *
 * @packageDocumentation
 */
import * as native from './native.js';

export const { include_dir, gyp, sources, abi_version } = native;
export default native;
