/**
 * `drainprof/native`: what a dependent addon's binding.gyp needs to call
 * libdrainprof (drainprof.h, drainprof_ext.h) on the profilers its JavaScript
 * hands it with `profiler.nativeHandle()`. Pure JavaScript: loading it never
 * loads drainprof's binary, so gyp can evaluate it before anything is built.
 *
 * @example
 * ```json
 * {
 *   "targets": [{
 *     "target_name": "my_allocator",
 *     "sources": ["src/addon.c"],
 *     "dependencies": ["<!(node -p \"require('drainprof/native').gyp\")"]
 *   }]
 * }
 * ```
 * The dependency compiles drainprof's forwarding shim into the addon (hidden
 * visibility) and adds {@link include_dir} to its include path; then
 * `#include <drainprof_node.h>` and `drainprof_node_acquire(env, handle)`.
 *
 * @packageDocumentation
 */
import * as path from 'node:path';

/** The package root: dist/.. */
const root = path.join(__dirname, '..');
const consumer = path.join(root, 'native', 'consumer');

/**
 * The directory holding drainprof.h, drainprof_ext.h and drainprof_node.h (the
 * header with `drainprof_node_acquire`/`drainprof_node_release`), for
 * `include_dirs`. Not needed with {@link gyp}, which adds it.
 */
export const include_dir: string = path.join(consumer, 'include');

/**
 * `"<path>/drainprof_node.gyp:drainprof_node"`: a static_library target that
 * compiles the shim with hidden visibility, for a target's `dependencies`.
 * Its dependents get {@link include_dir} on their include path.
 */
export const gyp: string = `${path.join(consumer, 'drainprof_node.gyp')}:drainprof_node`;

/**
 * The shim's source files, for a target that lists them among its own sources
 * instead of depending on {@link gyp} (C11; the file hides its own symbols);
 * add {@link include_dir} to its include_dirs too. Relative to the working
 * directory, as gyp wants sources (`<!@(...)` in binding.gyp runs in the
 * addon's directory):
 * `"sources": ["src/addon.c", "<!@(node -p \"require('drainprof/native').sources.join(' ')\")"]`.
 */
export const sources: readonly string[] = Object.freeze([
  path.relative(process.cwd(), path.join(consumer, 'drainprof_node_shim.c')),
]);

/**
 * DRAINPROF_NODE_ABI_VERSION of the handles this package's `nativeHandle()`
 * makes; an addon built with another version refuses them with a TypeError.
 */
export const abi_version = 1;
