{
  "targets": [
    {
      "target_name": "koclip",
      "sources": [
        "native/src/addon.cc",
        "native/src/core.cc",
        "native/src/cpu_kernels.cc",
        "native/src/distributed.cc",
        "native/src/gelu.cc",
        "native/src/handles.cc",
        "native/src/onednn_int8.cc",
        "native/src/onednn_linear.cc",
        "native/src/ops_generated.cc",
        "native/src/quantized.cc",
        "native/src/resample.cc",
        "native/src/training_attention.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node native/find-libtorch.mjs include_dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "<!@(node native/find-libtorch.mjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations", "<!@(node native/find-libtorch.mjs cflags)"],
      "ldflags": ["<!@(node native/find-libtorch.mjs cflags)"],
      "libraries": ["<!@(node native/find-libtorch.mjs libraries)"]
    }
  ]
}
