// index.js - a C slab/epoch allocator (src/) that reports to a drainprof Profiler.
//
//   const { Profiler } = require('drainprof');
//   const { SlabAllocator } = require('./index.js');
//   const profiler = new Profiler({ mode: 'diagnostic' });
//   const slabs = new SlabAllocator(profiler);
//   slabs.run({ epochs: 100 });            // the service, on this thread
//   await slabs.runOnThread({ epochs: 100 }); // on a native thread
//   profiler.snapshot().dsr;               // what the C code reported, read from JS
//   slabs.close();
'use strict';
const binding = require('./build/Release/native_slab.node');

/**
 * @typedef {object} RunOptions
 * @property {number} [epochs=1000] epochs to run
 * @property {number} [requestsPerEpoch=20] each a 512-byte request and a 2 KiB response, freed in the epoch
 * @property {number} [loginEvery=10] a login (a 256-byte session that stays) every N epochs; 0: none
 * @property {boolean} [sessionsInOwnClass=false] the fix: sessions from a long-lived slab class
 * @property {number} [epochMicros=0] pause after each epoch, as a service waits for traffic
 */

/**
 * @typedef {object} SlabStats
 * @property {number} mappedBytes slabs mapped now (64 KiB each)
 * @property {number} peakMappedBytes
 * @property {number} pinnedSlabs retired epoch slabs that a live object keeps mapped
 * @property {number} slabsMapped ever
 * @property {number} slabsUnmapped ever
 * @property {number} epochs
 * @property {number} liveObjects
 * @property {number} [sessions] sessions alive (absent while the native thread runs)
 */

class SlabAllocator {
  #native;

  /**
   * @param {import('drainprof').Profiler} profiler every slab is a granule, every object an allocation
   * @param {{ firstGranuleId?: number }} [options] granule ids count from here (default 1)
   */
  constructor(profiler, options = {}) {
    // The addon acquires the profiler: it stays alive for the allocator until close().
    this.#native = new binding.NativeSlab(profiler.nativeHandle(), options.firstGranuleId);
  }

  /** Runs the service on this thread. @param {RunOptions} [options] @returns {SlabStats} */
  run(options = {}) {
    return this.#native.run(options);
  }

  /** Runs the service on a new native thread. @param {RunOptions} [options] @returns {Promise<SlabStats>} */
  runOnThread(options = {}) {
    return this.#native.runOnThread(options);
  }

  /** Frees every session. @returns {number} how many */
  logoutAll() {
    return this.#native.logoutAll();
  }

  /** The allocator's counters; safe while the native thread runs. @returns {SlabStats} */
  stats() {
    return this.#native.stats();
  }

  /** Stops the thread, unmaps every slab and releases the profiler. Idempotent. */
  close() {
    this.#native.close();
  }
}

module.exports = { SlabAllocator, SLAB_SIZE: binding.slabSize, NativeSlab: binding.NativeSlab };
