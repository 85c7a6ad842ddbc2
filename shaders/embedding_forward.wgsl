// embedding_forward: out (N, C) = wte[ids[n]], the table row of each token.
// Reads ids, wte; writes out (no accumulation).
// WT is the table's element type: f32 here; the wrapper swaps in f16 (with `enable f16;`) for f16 tables.
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, C)
@group(0) @binding(1) var<storage, read> ids: array<u32>;       // (N)
@group(0) @binding(2) var<storage, read> wte: array<WT>;        // (V, C)
struct Params { N: u32, C: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// Dispatch: grid2(ceil(N * C / 256)) workgroups of 256, one output element per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.N * p.C) { return; }
  let n = i / p.C;
  let c = i - n * p.C;
  out[i] = f32(wte[ids[n] * p.C + c]);
}
