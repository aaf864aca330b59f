{
  # The concurrency test's dependent addon (threads.c), built by concurrency.test.ts with
  # test/native-consumer/build.ts the way a user's addon is built against drainprof/native.
  "targets": [
    {
      "target_name": "threads",
      "sources": [
        "threads.c",
        "<!@(node -p \"require('drainprof/native').sources.join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('drainprof/native').include_dir\")"],
      "cflags": ["-pthread", "-Wall", "-Wextra", "-Werror", "-fmacro-prefix-map=../="],
      "cflags_c": ["-std=c11", "-Wpedantic"],
      "ldflags": ["-pthread"]
    }
  ]
}
