# node-gyp build of the claw plugin: one C++17 core, two faces, plus the reference host.
#   build/Release/claw_byterover.node              Node addon (node-addon-api, NAPI_VERSION 8)
#   build/Release/lib.target/libclaw_byterover.so  plain shared library, no Node-API references
#   build/Release/claw-host                         reference claw-runtime (C)
#   build/Release/claw-host-matrix                  ABI test-matrix driver (test artifact, not shipped)
# `npm ci` runs node-gyp-build, which runs `node-gyp rebuild` when no prebuild fits, so the default
# build produces all three. CMakeLists.txt builds the same artifacts with the same flags and export
# list (test/native/symbols.test.ts compares them).
{
  'variables': {
    'claw_napi_version': 8,
    # Version of the npm package; git revision only when building inside this package's own git
    # checkout (never a parent repository's), else "unknown". Neither step can fail the build.
    'claw_version': '<!(node -p "require(\'./package.json\').version")',
    'claw_git_revision': '<!(test -e .git && git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)',
    'claw_has_tests': '<!(test -f native/test/claw_host_matrix.c && echo 1 || echo 0)',
    # The core: every source built into BOTH faces. Add new core sources here (e.g. native/src/recall/*).
    'claw_core_sources': [
      'native/src/negotiate.cc',
      'native/src/extensions.cc',
      'native/src/plugin.cc',
      'native/src/recall/utf8.cc',
      'native/src/recall/tokenizer.cc',
      'native/src/recall/markdown.cc',
      'native/src/recall/html.cc',
      'native/src/recall/excerpt.cc',
      'native/src/recall/index.cc',
      'native/src/recall/recall_c.cc',
      'native/src/recall/walk.cc',
      'native/src/recall/persist.cc',
    ],
  },
  'target_defaults': {
    'include_dirs': ['native/include', 'native/src'],
    'defines': [
      'CLAW_PLUGIN_VERSION="<(claw_version)"',
      'CLAW_GIT_REVISION="<(claw_git_revision)"',
      'CLAW_NAPI_VERSION=<(claw_napi_version)',
    ],
    'cflags': ['-fvisibility=hidden', '-Wall', '-Wextra'],
    # Exceptions on: allocation failure anywhere in the core becomes CLAW_RECALL_E_NO_MEMORY at the
    # C entry points (recall_c.cc) instead of aborting the host (node-gyp's default is -fno-exceptions).
    'cflags_cc': ['-std=c++17', '-fvisibility-inlines-hidden', '-fexceptions', '-fno-rtti'],
    'cflags_cc!': ['-std=gnu++17', '-std=gnu++20', '-fno-exceptions'],
  },
  'targets': [
    {
      # The Node addon. Exports claw_* and Node's module entry points, nothing else.
      'target_name': 'claw_byterover',
      'type': 'loadable_module',
      'sources': ['<@(claw_core_sources)', 'native/src/addon.cc', 'native/src/walk_addon.cc'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': [
        'CLAW_BUILD_FLAVOR="node-addon"',
        'NAPI_VERSION=<(claw_napi_version)',
        'NAPI_DISABLE_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
      ],
      'ldflags': [
        '-Wl,--version-script=<(module_root_dir)/native/exports.map',
        '-Wl,-z,lazy',
        '-Wl,--as-needed',
      ],
    },
    {
      # The plain C-ABI library for native hosts that load with RTLD_NOW. No Node-API anywhere.
      'target_name': 'claw_byterover_lib',
      'product_name': 'claw_byterover',
      'product_prefix': 'lib',
      'type': 'shared_library',
      'sources': ['<@(claw_core_sources)'],
      'defines': ['CLAW_BUILD_FLAVOR="shared-library"'],
      'ldflags': [
        '-Wl,--version-script=<(module_root_dir)/native/exports.map',
        '-Wl,-z,lazy',
        '-Wl,--as-needed',
        '-Wl,-soname,libclaw_byterover.so',
      ],
    },
    {
      # The reference claw-runtime: dlopen + claw_abi_info + claw_init + diagnosis.
      'target_name': 'claw-host',
      'type': 'executable',
      'sources': ['native/host/claw_host.c', 'native/host/host_common.c'],
      'cflags_c': ['-std=gnu11'],
      'libraries': ['-ldl', '-lpthread'],
    },
  ],
  'conditions': [
    # The host side of the ABI test matrix (test artifact): only in a checkout with native/test
    # (the npm package and the prebuild staging copy leave it out).
    ['claw_has_tests==1', {
      'targets': [{
        'target_name': 'claw-host-matrix',
        'type': 'executable',
        'sources': ['native/test/claw_host_matrix.c', 'native/host/host_common.c'],
        'include_dirs': ['native/host'],
        'cflags_c': ['-std=gnu11'],
        'libraries': ['-ldl', '-lpthread'],
      }],
    }],
  ],
}
