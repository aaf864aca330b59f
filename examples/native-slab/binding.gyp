{
  "targets": [
    {
      "target_name": "native_slab",
      "sources": ["src/addon.c", "src/service.c", "src/slab.c"],
      # drainprof's shim (a static library with hidden visibility) and, through it, the
      # include directory with drainprof.h, drainprof_ext.h and drainprof_node.h.
      "dependencies": ["<!(node -p \"require('drainprof/native').gyp\")"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fmacro-prefix-map=../="],
      "cflags_c": ["-std=c11"],
      "ldflags": ["-pthread"],
      "xcode_settings": {"GCC_C_LANGUAGE_STANDARD": "c11"}
    }
  ]
}
