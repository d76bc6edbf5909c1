//! Examples live as binaries under examples/.
