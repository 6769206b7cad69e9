#!/usr/bin/env node
// Finds libtorch for binding.gyp, in the order the README documents:
//   1. $LIBTORCH (an unpacked libtorch or a pip torch package folder)
//   2. a pip PyTorch importable by python3
//   3. Debian's libtorch-dev under /usr
// Prints one field of the result so gyp can splice it in with <!(node find-libtorch.mjs FIELD).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function layoutOf(prefix, libDir, cmakeDir) {
  const include = join(prefix, "include");
  if (!existsSync(join(include, "ATen", "ATen.h"))) return null;
  const cmake = join(cmakeDir, "TorchConfig.cmake");
  // TorchConfig.cmake carries the libstdc++ ABI torch was built with; mixing ABIs fails at link or load time.
  let abi = "1";
  if (existsSync(cmake)) {
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(cmake, "utf8"));
    if (m) abi = m[1];
  }
  const cuda = existsSync(join(libDir, "libtorch_cuda.so"));
  return { prefix, include: [include, join(include, "torch", "csrc", "api", "include")], libDir, abi, cuda };
}

function fromEnv() {
  const root = process.env.LIBTORCH;
  if (!root) return null;
  const found = layoutOf(root, join(root, "lib"), join(root, "share", "cmake", "Torch"));
  if (!found) throw new Error(`LIBTORCH=${root} has no include/ATen/ATen.h`);
  return found;
}

function fromPip() {
  try {
    const dir = execFileSync("python3", ["-c", "import torch, os; print(os.path.dirname(torch.__file__))"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    // Debian's python3-torch is a pip-style layout without headers; the /usr probe below covers it.
    return dir ? layoutOf(dir, join(dir, "lib"), join(dir, "share", "cmake", "Torch")) : null;
  } catch {
    return null;
  }
}

function fromDebian() {
  const libDir = "/usr/lib/x86_64-linux-gnu";
  return layoutOf("/usr", libDir, join(libDir, "cmake", "Torch"));
}

const torch = fromEnv() ?? fromPip() ?? fromDebian();
if (!torch) {
  console.error("koclip: libtorch not found. Install Debian's libtorch-dev (apt-get install libtorch-dev libopenblas0-openmp),\n" +
    "or pip install torch, or set LIBTORCH to an unpacked libtorch.");
  process.exit(1);
}

// Debian's libtorch runs its own threads on OpenMP (libgomp) but finds BLAS through the libblas.so.3
// alternative, which defaults to OpenBLAS's pthread build: two thread pools on the same cores, each
// spinning while the other works (ViT-B/32 fp32 12.5 img/s on 2 cores against 24 with one pool).
// When Debian's OpenMP build of OpenBLAS is installed (libopenblas0-openmp), the addon links it by
// path, searched first: libtorch's own libblas.so.3 and liblapack.so.3 then resolve to the copies
// already loaded, and everything shares libgomp's threads.
const debian = torch.prefix === "/usr";
const openmpBlas = join(torch.libDir, "openblas-openmp");
const withOpenmpBlas = debian && existsSync(join(openmpBlas, "libopenblas.so.0"));
if (debian && !withOpenmpBlas && process.argv[2] === "libraries") {
  console.error("koclip: warning: libopenblas0-openmp is not installed; OpenBLAS's pthread build and libtorch's OpenMP threads\n" +
    "will compete for the cores (about 2x slower fp32 here). apt-get install libopenblas0-openmp, then rebuild.");
}
const blasLibs = withOpenmpBlas
  ? [`-L${openmpBlas}`, `-Wl,-rpath,${openmpBlas}`, "-Wl,--no-as-needed", "-l:libblas.so.3", "-l:liblapack.so.3", "-l:libopenblas.so.0", "-Wl,--as-needed"]
  : [];

// Debian's libtorch links the system oneDNN (libdnnl.so.2); with its headers (libdnnl-dev) the addon
// calls oneDNN's int8 matmul itself (native/src/onednn_int8.h). Pip builds link oneDNN statically,
// with hidden symbols, so they keep libtorch's own int8 path.
const onednn = debian && existsSync("/usr/include/oneapi/dnnl/dnnl.hpp") && existsSync(join(torch.libDir, "libdnnl.so"));
if (debian && !onednn && process.argv[2] === "libraries") {
  console.error("koclip: warning: libdnnl-dev is not installed; int8 layers go through libtorch's oneDNN path, which compiles\n" +
    "new primitives for every new input (ViT-B/32 int8: 186 against 144 ms a batch of 16 here). apt-get install libdnnl-dev, then rebuild.");
}

// c10d's Gloo process group (CPU collectives for data-parallel training) is compiled into libtorch, but
// its header includes Gloo's, which Debian ships apart (libgloo-dev); pip builds carry them in include/.
// NCCL is the GPU backend of CUDA builds (pip's CUDA libtorch has it wherever it has libtorch_cuda).
const glooHeaders = [join(torch.include[0], "gloo", "config.h"), ...(debian ? ["/usr/include/gloo/config.h"] : [])].some((f) => existsSync(f));
const c10dHeader = existsSync(join(torch.include[0], "torch", "csrc", "distributed", "c10d", "ProcessGroupGloo.hpp"));
const gloo = glooHeaders && c10dHeader;
if (!gloo && c10dHeader && process.argv[2] === "libraries") {
  console.error("koclip: warning: Gloo's headers are missing (apt-get install libgloo-dev, then rebuild); without them the addon\n" +
    "has no process groups and `koclip train --nproc` / multi-rank launches are refused.");
}
const nccl = gloo && torch.cuda && existsSync(join(torch.include[0], "torch", "csrc", "distributed", "c10d", "ProcessGroupNCCL.hpp"));

const libs = ["-ltorch", "-ltorch_cpu", "-lc10", ...(onednn ? ["-ldnnl"] : [])];
const field = process.argv[2];
const out = {
  include_dirs: torch.include.join(" "),
  defines: [`_GLIBCXX_USE_CXX11_ABI=${torch.abi}`, ...(torch.cuda ? ["KOCLIP_CUDA=1"] : []), ...(withOpenmpBlas ? ["KOCLIP_OPENMP_BLAS=1"] : []), ...(onednn ? ["KOCLIP_ONEDNN=1"] : []), ...(gloo ? ["USE_C10D_GLOO"] : []), ...(nccl ? ["USE_C10D_NCCL"] : [])].join(" "),
  // With one OpenMP pool for libtorch and OpenBLAS, the addon's own parallel loops (ATen's inline
  // at::parallel_for, composite.h's attention) join it; they need -fopenmp to run in parallel at all.
  cflags: withOpenmpBlas ? "-fopenmp" : "",
  // libtorch_cuda registers its kernels from static initialisers; --no-as-needed keeps the linker from
  // dropping it because no symbol is referenced directly.
  libraries: [
    ...blasLibs,
    `-L${torch.libDir}`,
    `-Wl,-rpath,${torch.libDir}`,
    ...(torch.cuda ? ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"] : []),
    ...libs,
  ].join(" "),
  summary: JSON.stringify({ ...torch, openmpBlas: withOpenmpBlas, onednn, gloo, nccl }),
}[field];
if (out === undefined) {
  console.error(`usage: find-libtorch.mjs include_dirs|defines|cflags|libraries|summary`);
  process.exit(2);
}
console.log(out);
