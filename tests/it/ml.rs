//! Learned components through ONNX Runtime (issue 11): runtime discovery, model checks, neural F0.
