// lora_dropout: the dropout of the LoRA input, shared by lora_forward and both lora_backward_* shaders (their
// wrapper appends this file to each). Element i = n*C + c is kept when hash32(i ^ hash32(seed)) >= p.threshold and
// then scaled by p.keepScale = 1/(1-p); threshold 0 turns it off. The including shader's Params must have
// threshold: u32 and keepScale: f32. hash32 is src/kernels/dropout.ts's, bit for bit.

fn hash32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn dropout(x: f32, index: u32, seedHash: u32) -> f32 {
  if (p.threshold == 0u) { return x; }
  return select(0.0, x * p.keepScale, hash32(index ^ seedHash) >= p.threshold);
}
