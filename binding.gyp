{
  "variables": {
    "common_cflags": ["-O3", "-std=c++17", "-fexceptions", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
    "mpi_found": "<!(node scripts/mpi-flags.cjs)"
  },
  "targets": [
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["<!@(node scripts/list-native-sources.cjs avx2)"],
      "include_dirs": ["native/src"],
      "cflags_cc": ["<@(common_cflags)", "-mavx2", "-mfma", "-mf16c", "-fPIC"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["<!@(node scripts/list-native-sources.cjs avx512)"],
      "include_dirs": ["native/src"],
      "cflags_cc": ["<@(common_cflags)", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c", "-fPIC"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "peftjs",
      "sources": ["<!@(node scripts/list-native-sources.cjs generic)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/src"],
      "dependencies": ["kernels_avx2", "kernels_avx512"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["<@(common_cflags)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": ["-lpthread"]
    }
  ],
  "conditions": [
    ["'<(mpi_found)'=='1'", {
      "targets": [
        {
          "target_name": "peftjs_mpi",
          "sources": ["native/mpi/mpi.cc"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX", "MPICH_SKIP_MPICXX"],
          "cflags_cc": ["<@(common_cflags)", "<!@(node scripts/mpi-flags.cjs --cflags)"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
          "libraries": ["<!@(node scripts/mpi-flags.cjs --libs)", "-lpthread"]
        }
      ]
    }]
  ]
}
