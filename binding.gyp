{
  # One target: the C core (vendor/libdrainprof/src/*.c, C11) and the N-API glue
  # (native/*.cc, C++17, node-addon-api with C++ exceptions) linked into
  # build/Release/drainprof.node, loaded by lib/binding.ts through node-gyp-build.
  #
  # DRAINPROF_CORE_DIR (optional, for glue development only) points the build
  # at another directory with include/ and src/ laid out like vendor/libdrainprof.
  "variables": {
    "drainprof_core%": "<!(node -p \"process.env.DRAINPROF_CORE_DIR || 'vendor/libdrainprof'\")"
  },
  "targets": [
    {
      "target_name": "drainprof",
      "sources": [
        "<!@(node -p \"const d = process.env.DRAINPROF_CORE_DIR || 'vendor/libdrainprof'; const s = require('fs').readdirSync(d + '/src').filter((f) => f.endsWith('.c')).sort().map((f) => d + '/src/' + f); if (s.length === 0) throw new Error('no C sources in ' + d + '/src'); s.join(' ')\")",
        "native/addon.cc",
        "native/profiler_wrap.cc",
        "native/hot_path.cc",
        "native/pin_queue.cc",
        "native/pack.cc",
        "native/test_hooks.cc",
        "native/shared_core.cc",
        "native/foreign_slots.cc",
        "native/export_handle.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<(drainprof_core)/include",
        "<(drainprof_core)/src"
      ],
      "defines": [
        "NAPI_VERSION=9",
        "NODE_ADDON_API_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags": ["-O3", "-fvisibility=hidden", "-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility-inlines-hidden"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "ldflags": ["-pthread", "-Wl,-z,now", "-Wl,-z,nodelete"],
      "conditions": [
        ["OS == 'linux'", {
          "ldflags": ["-Wl,--version-script=<(module_root_dir)/native/exports.map"]
        }]
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_C_LANGUAGE_STANDARD": "c11",
        "OTHER_CFLAGS": ["-O3"],
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      }
    }
  ]
}
