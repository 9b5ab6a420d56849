#pragma once
// The single source of the version: CMake reads these lines.
#define VTRANS_VERSION_MAJOR 0
#define VTRANS_VERSION_MINOR 1
#define VTRANS_VERSION_PATCH 0
#define VTRANS_VERSION_STRING "0.1.0"
