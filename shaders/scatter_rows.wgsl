// scatter_rows: out[rows[m]] = src[m] for m < M, the backward of gathering rows (embedding_forward) at
// distinct row indices. Rows of out that no index names are left as they are.
// Reads src, rows; writes the named rows of out (distinct indices: each element has a single owner).
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, C)
@group(0) @binding(1) var<storage, read> src: array<f32>;       // (M, C)
@group(0) @binding(2) var<storage, read> rows: array<u32>;      // (M), each < N, no repeats
struct Params { M: u32, C: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// Dispatch: grid2(ceil(M * C / 256)) workgroups of 256, one source element per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.M * p.C) { return; }
  let m = i / p.C;
  let c = i - m * p.C;
  out[rows[m] * p.C + c] = src[i];
}
