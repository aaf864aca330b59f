{
  # The test suite's dependent addon, built by test/native-consumer.test.ts in a temp directory
  # where node_modules/drainprof links to this checkout (as npm links a "file:" dependency).
  # It lists drainprof's shim among its own sources instead of depending on the gyp target
  # (examples/native-slab shows that way): both are supported, and this one keeps every
  # generated file inside build/ also for a linked drainprof.
  "targets": [
    {
      "target_name": "consumer",
      "sources": [
        "consumer.c",
        "consumer_cc.cc",
        "<!@(node -p \"require('drainprof/native').sources.join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('drainprof/native').include_dir\")"],
      "cflags": ["-pthread", "-Wall", "-Wextra", "-Werror", "-fmacro-prefix-map=../="],
      "cflags_c": ["-std=c11", "-Wpedantic"],
      "cflags_cc": ["-std=c++17", "-Wpedantic"],
      "ldflags": ["-pthread"]
    }
  ]
}
