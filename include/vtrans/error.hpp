#pragma once
// The exceptions vtrans throws on bad input, one base for all: catch vtrans::error to report any
// rejection. Every message is one line that names the file and the field, line or offset at fault
// ("<file>: <what>", "<file>:<line>: <what>"), or the option or argument for usage errors.
#include <stdexcept>

namespace vtrans {

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file's content is malformed or inconsistent (bad header, offsets, ids, a row, a key...).
struct format_error : error {
  using error::error;
};

// A bad option, argument or value passed by the caller.
struct usage_error : error {
  using error::error;
};

// The input is too large for memory or for a limit (a size read from a file above its cap).
struct resource_error : error {
  using error::error;
};

// The operating system refused an operation (open, read, write, rename); names the path and the reason.
struct file_error : error {
  using error::error;
};

// The run was stopped on request (a signal or the caller's callback); the message says whether
// its state was saved for resuming.
struct interrupted : error {
  using error::error;
};

}  // namespace vtrans
