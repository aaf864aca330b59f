{
  # The test suite's dependent addon (test/native-consumer.test.ts builds it in a temp
  # directory where node_modules/drainprof links to this checkout, as npm links "file:").
  "targets": [
    {
      "target_name": "consumer",
      "sources": ["consumer.c", "consumer_cc.cc"],
      "dependencies": ["<!(node -p \"require('drainprof/native').gyp\")"],
      "cflags": ["-pthread", "-Wall", "-Wextra", "-Werror", "-fmacro-prefix-map=../="],
      "cflags_c": ["-std=c11", "-Wpedantic"],
      "cflags_cc": ["-std=c++17", "-Wpedantic"],
      "ldflags": ["-pthread"]
    }
  ]
}
