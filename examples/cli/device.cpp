// --device: which backend a command's model work runs on (device.hpp).
#include "device.hpp"

#include <iostream>

namespace vtrans::cli {

device_kind choose_device(const device_args& d) {
  const device_kind k = parse_device(d);
  if (k == device_kind::cuda) {
    const std::string gpu = open_cuda_device(d);  // throws before anything is printed
    std::cerr << "device: " << gpu << "\n";
  }
  return k;
}

}  // namespace vtrans::cli
