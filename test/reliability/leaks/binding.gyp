{
  # The leak soak's mallinfo2() reader, built by leaks.test.ts (glibc only).
  "targets": [
    {
      "target_name": "mallinfo",
      "sources": ["mallinfo.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"],
      "cflags_c": ["-std=c11"]
    }
  ]
}
