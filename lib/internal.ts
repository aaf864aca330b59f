/**
 * Internals for drainprof's own tests: not exported by the package entry points.
 *
 * @packageDocumentation
 * @internal
 */
export { binding } from './binding.js';
export { nativeHandleOf, viewOf } from './profiler.js';
export { callArea } from './binding.js';
