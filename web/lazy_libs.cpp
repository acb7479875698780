// libsodium and libqrencode for the web page, loaded on first use (tether/lazy_library.h): a
// board with the page off (the default) maps neither. tetherd defines the few functions it
// calls (the declarations of <sodium.h> and <qrencode.h>) as stubs that forward to the
// loaded library; without it they fail the way the library reports its own failures (-1,
// nullptr), and hashLibraryError() says why.
#include <qrencode.h>
#include <sodium.h>

#include <cerrno>

#include "tether/base/lazy_library.h"
#include "web/hash_worker.h"

namespace tetherd::web {

namespace {

LazyLibrary& sodium() {
  static LazyLibrary lib("libsodium.so.23");
  return lib;
}

LazyLibrary& qrencode() {
  static LazyLibrary lib("libqrencode.so.4");
  return lib;
}

}  // namespace

std::string hashLibraryError() { return sodium().error(); }

}  // namespace tetherd::web

#define TETHERD_FORWARD(lib, ret, fail, name, params, ...)                                       \
  ret name params {                                                                              \
    static const auto real = tetherd::web::lib().function<ret(*) params>(#name);                 \
    return real != nullptr ? real(__VA_ARGS__) : fail;                                           \
  }

extern "C" {

TETHERD_FORWARD(sodium, int, -1, sodium_init, (void))
TETHERD_FORWARD(sodium, int, -1, crypto_generichash,
                (unsigned char* out, size_t outlen, const unsigned char* in, unsigned long long inlen, const unsigned char* key,
                 size_t keylen),
                out, outlen, in, inlen, key, keylen)
TETHERD_FORWARD(sodium, int, -1, crypto_pwhash_str,
                (char out[crypto_pwhash_STRBYTES], const char* const passwd, unsigned long long passwdlen,
                 unsigned long long opslimit, size_t memlimit),
                out, passwd, passwdlen, opslimit, memlimit)
TETHERD_FORWARD(sodium, int, -1, crypto_pwhash_str_verify,
                (const char* str, const char* const passwd, unsigned long long passwdlen), str, passwd, passwdlen)
TETHERD_FORWARD(qrencode, QRcode*, (errno = ENOSYS, nullptr), QRcode_encodeData,
                (int size, const unsigned char* data, int version, QRecLevel level), size, data, version, level)

void QRcode_free(QRcode* qrcode) {
  static const auto real = tetherd::web::qrencode().function<void (*)(QRcode*)>("QRcode_free");
  if (real != nullptr) real(qrcode);
}

}  // extern "C"
