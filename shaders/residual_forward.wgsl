// residual_forward: out += inp, elementwise (accumulates into out).
// Reads inp; read-writes out. Dispatch: ceil(N / 256) workgroups of 256.
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N)
@group(0) @binding(1) var<storage, read> inp: array<f32>;       // (N)
struct Params { N: u32 }
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < p.N) {
    out[i] += inp[i];
  }
}
