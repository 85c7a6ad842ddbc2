// lora_backward_weight: second pass of LoRA's backward, after lora_backward_input has written du:
//   dA += du^T @ dropout(inp),  dB += scale * dout^T @ u
// (dropout() from lora_dropout.wgsl, as in lora_forward). One thread owns one element of dA or dB and sums over the N token rows.
// Reads du, dout, inp, u; accumulates into dA and dB. Dispatch: grid2(ceil((R*C + OC*R) / 256)) workgroups
// of 256; threads [0, R*C) own dA, the rest own dB.
@group(0) @binding(0) var<storage, read_write> dA: array<f32>; // (R, C)
@group(0) @binding(1) var<storage, read_write> dB: array<f32>; // (OC, R)
@group(0) @binding(2) var<storage, read> du: array<f32>;       // (N, R)
@group(0) @binding(3) var<storage, read> dout: array<f32>;     // (N, OC)
@group(0) @binding(4) var<storage, read> inp: array<f32>;      // (N, C)
@group(0) @binding(5) var<storage, read> u: array<f32>;        // (N, R)
struct Params { N: u32, C: u32, R: u32, OC: u32, scale: f32, seed: u32, threshold: u32, keepScale: f32 }
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let sizeA = p.R * p.C;
  if (i < sizeA) {
    // Neighbouring threads own neighbouring columns c of one rank r: inp reads are contiguous.
    let r = i / p.C;
    let c = i % p.C;
    let seedHash = hash32(p.seed);
    var sum = 0.0;
    for (var n = 0u; n < p.N; n++) {
      sum += du[n * p.R + r] * dropout(inp[n * p.C + c], n * p.C + c, seedHash);
    }
    dA[i] += sum;
  } else if (i < sizeA + p.OC * p.R) {
    // Neighbouring threads own neighbouring outputs o of one rank r: dout reads are contiguous.
    let j = i - sizeA;
    let o = j % p.OC;
    let r = j / p.OC;
    var sum = 0.0;
    for (var n = 0u; n < p.N; n++) {
      sum += dout[n * p.OC + o] * u[n * p.R + r];
    }
    dB[o * p.R + r] += p.scale * sum;
  }
}
