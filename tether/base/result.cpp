#include "tether/base/result.h"

#include <cstring>

namespace tetherd {

const char* errcName(Errc code) {
  switch (code) {
    case Errc::Ok: return "ok";
    case Errc::UnknownIface: return "unknown-iface";
    case Errc::ServiceUnavail: return "service-unavailable";
    case Errc::Unsupported: return "unsupported";
    case Errc::UnavailIface: return "unavailable-iface";
    case Errc::MasterError: return "master-error";
    case Errc::TetherIfaceError: return "tether-iface-error";
    case Errc::UntetherIfaceError: return "untether-iface-error";
    case Errc::EnableForwardingError: return "enable-forwarding-error";
    case Errc::DisableForwardingError: return "disable-forwarding-error";
    case Errc::IfaceCfgError: return "iface-config-error";
    case Errc::DhcpServerError: return "dhcp-server-error";
    case Errc::InvalidArgument: return "invalid-argument";
    case Errc::SystemError: return "system-error";
    case Errc::Busy: return "busy";
    case Errc::AlreadyExists: return "already-exists";
    case Errc::NotFound: return "not-found";
    case Errc::Timeout: return "timeout";
  }
  return "unknown";
}

Error systemError(const std::string& what, int err) {
  return Error{Errc::SystemError, what + ": " + std::strerror(err)};
}

}  // namespace tetherd
