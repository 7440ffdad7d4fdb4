#pragma once
namespace eidetic::convert {
constexpr const char* kConverterVersion = "eidetic-convert 0.1.0";
}
