{
  # The static library a dependent addon links to call libdrainprof (drainprof.h,
  # drainprof_ext.h) on the profilers its JavaScript hands it: the forwarding shim,
  # compiled with hidden visibility. Depend on it with
  #   "dependencies": ["<!(node -p \"require('drainprof/native').gyp\")"]
  # and the include directory comes with it (direct_dependent_settings).
  "targets": [
    {
      "target_name": "drainprof_node",
      "type": "static_library",
      "sources": ["drainprof_node_shim.c"],
      "include_dirs": ["include"],
      "direct_dependent_settings": {
        "include_dirs": ["include"]
      },
      "cflags": ["-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_c": ["-std=c11"],
      "xcode_settings": {
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "GCC_C_LANGUAGE_STANDARD": "c11"
      }
    }
  ]
}
