/*
 * embertls.hpp: C++17 wrappers over the embertls C API (embertls.h), header-only.
 *
 *   #include "embertls.hpp"      // c++ -std=c++17 app.cpp -lembertls
 *
 * What it adds to the C API, and nothing else:
 *
 * - Owners. embertls::Config, embertls::Trust, embertls::SessionCache and embertls::Conn
 *   each own one C object and free it when destroyed. They are move-only: a moved-from
 *   owner holds nothing (valid() is false) and may only be destroyed or assigned to.
 *   As in C, no call takes an object over: a config keeps its own reference to the trust
 *   store and session cache it is given, and a connection to its config, so each owner may
 *   be destroyed as soon as the caller is done with it.
 * - Exceptions. A failure throws embertls::error (a std::runtime_error), or the subclass
 *   for its class of result: misuse_error (100s), io_error (200s), cert_error (300s),
 *   handshake_error (400s), internal_error (500s). Each carries the ember_result code, its
 *   name ("EMBER_ERR_CERT_EXPIRED") and the detail the object recorded (the text of
 *   ember_conn_last_error(), ember_config_last_error() or ember_trust_last_error()).
 * - Progress is not an error. EMBER_WANT_READ, EMBER_WANT_WRITE and EMBER_CLOSED come back
 *   as an embertls::status, so a non-blocking loop never sees an exception for "not yet".
 * - Bytes in and out as (pointer, size), std::string_view, or any contiguous range of
 *   one-byte elements: std::vector<std::uint8_t>, std::string, std::array<std::byte, N>,
 *   and in C++20 std::span (the header needs only C++17, and takes spans as such ranges).
 *   Names and paths as std::string_view.
 *
 * Threads and lifetimes are the C API's: see embertls.h. A member function names the C
 * function it calls, e.g. "(ember_conn_read())", whose documentation there is the full
 * contract; the comment here says what it returns and throws. Nothing is thrown but the
 * embertls::error subclasses and std::bad_alloc.
 */
#ifndef EMBERTLS_HPP
#define EMBERTLS_HPP

#include "embertls.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace embertls {

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/**
 * A failed embertls call. `code()` is the ember_result, `name()` its identifier,
 * `detail()` the object's explanation ("" when it recorded none), and `what()` reads
 * "NAME: detail" (the generic sentence of ember_result_str() when there is no detail).
 * Thrown as the subclass for the code's class; catch embertls::error for all of them.
 */
class error : public std::runtime_error {
public:
    /** Makes an error for `code` with `detail` (may be empty). Throws nothing but
     *  std::bad_alloc. */
    error(ember_result code, std::string detail)
        : std::runtime_error(describe(code, detail)), code_(code), detail_(std::move(detail))
    {
    }

    /** The result code. Never throws. */
    ember_result code() const noexcept { return code_; }

    /** The code's identifier, e.g. "EMBER_ERR_CERT_EXPIRED" (static storage). Never throws. */
    const char *name() const noexcept { return ember_result_name(code_); }

    /** The detail text the object recorded, e.g. "the peer's certificate expired at ...";
     *  "" when there was none. Never throws. */
    const std::string &detail() const noexcept { return detail_; }

    /** The class of the code: 100 misuse, 200 I/O, 300 certificate, 400 handshake or
     *  protocol, 500 internal (what EMBER_RESULT_CLASS() computes). Never throws. */
    int result_class() const noexcept { return class_of(code_); }

    /** The class of any code, as result_class() (EMBER_RESULT_CLASS() without its C cast,
     *  which -Wold-style-cast would flag). Never throws. */
    static constexpr int class_of(ember_result code) noexcept
    {
        return static_cast<int>(code) / 100 * 100;
    }

private:
    static std::string describe(ember_result code, const std::string &detail)
    {
        std::string text = ember_result_name(code);
        text += ": ";
        text += detail.empty() ? ember_result_str(code) : detail;
        return text;
    }

    ember_result code_;
    std::string detail_;
};

/** Caller misuse or bad input (100s): a NULL or invalid argument, a wrong state, a frozen
 *  config, bad PEM, a key that does not match, a file that cannot be read. */
class misuse_error : public error {
public:
    using error::error;
};

/** The transport failed (EMBER_ERR_IO: Conn::os_error() has the errno) or the peer's
 *  stream ended without close_notify (EMBER_ERR_UNEXPECTED_EOF). */
class io_error : public error {
public:
    using error::error;
};

/** The peer's certificate was refused (300s): expired, unknown issuer, wrong name,
 *  revoked, rejected by the verification callback... */
class cert_error : public error {
public:
    using error::error;
};

/** Negotiation or the protocol failed (400s): no shared version, suite, group or ALPN
 *  protocol, an alert from the peer (Conn::peer_alert()), a bad record. */
class handshake_error : public error {
public:
    using error::error;
};

/** Something inside embertls failed (500s): a caught panic, a poisoned object, a limit. */
class internal_error : public error {
public:
    using error::error;
};

/**
 * Throws the subclass of embertls::error for `code` (which must not be a progress code:
 * those are turned into a status, never thrown), with `detail`.
 */
[[noreturn]] inline void throw_error(ember_result code, std::string detail = std::string())
{
    switch (error::class_of(code)) {
    case 100:
        throw misuse_error(code, std::move(detail));
    case 200:
        throw io_error(code, std::move(detail));
    case 300:
        throw cert_error(code, std::move(detail));
    case 400:
        throw handshake_error(code, std::move(detail));
    case 500:
        throw internal_error(code, std::move(detail));
    default:
        throw error(code, std::move(detail));
    }
}

/**
 * What a call that may wait for I/O achieved, for the codes that are not failures.
 * `ok`: done (or, for reads and writes, some bytes moved). `want_read` / `want_write`:
 * non-blocking I/O would block; call again when the socket is readable / writable (memory
 * mode: feed what arrived, drain what is pending, call again). `closed`: the peer sent
 * close_notify, the clean end of its data.
 */
enum class status { ok, want_read, want_write, closed };

/** What Conn::read() and Conn::write() did: `state` and how many `bytes` moved (0 unless
 *  `state` is status::ok). */
struct io_result {
    status state;
    std::size_t bytes;

    /** True when `state` is status::ok. Never throws. */
    explicit operator bool() const noexcept { return state == status::ok; }
};

namespace detail {

/** Maps a progress code to its status; nullopt for a failure. Never throws. */
inline std::optional<status> progress(ember_result r) noexcept
{
    switch (r) {
    case EMBER_OK:
        return status::ok;
    case EMBER_WANT_READ:
        return status::want_read;
    case EMBER_WANT_WRITE:
        return status::want_write;
    case EMBER_CLOSED:
        return status::closed;
    default:
        return std::nullopt;
    }
}

/**
 * Reads a string through one of the (obj, buf, len, &n) getters into `text`: starts with a
 * buffer on the stack, which fits nearly every string, and retries once with the size the
 * first call reported. Returns the last call's result; `text` holds the string only when
 * that is EMBER_OK. Throws std::bad_alloc.
 */
template <class Object>
ember_result read_text(ember_result (*fn)(const Object *, char *, std::size_t, std::size_t *),
                       const Object *obj, std::string &text)
{
    char small[256];
    std::size_t n = 0;
    ember_result r = fn(obj, small, sizeof small, &n);
    if (r == EMBER_OK) {
        text.assign(small, n);
        return r;
    }
    if (r != EMBER_ERR_BUFFER_TOO_SMALL)
        return r;
    text.assign(n + 1, '\0');
    r = fn(obj, &text[0], text.size(), &n);
    text.resize(r == EMBER_OK ? n : 0);
    return r;
}

/**
 * Reads a detail string through one of the *_last_error() functions. "" when the object
 * cannot give one (NULL, poisoned).
 */
template <class Object>
std::string last_error(ember_result (*fn)(const Object *, char *, std::size_t, std::size_t *),
                       const Object *obj)
{
    std::string text;
    if (obj == nullptr || read_text(fn, obj, text) != EMBER_OK)
        return std::string();
    return text;
}

/** A NUL-terminated copy of a string_view, for the C API's `const char *` parameters.
 *  Throws std::bad_alloc. */
inline std::string c_str(std::string_view s)
{
    return std::string(s);
}

/** The element type of a contiguous range C (std::data() and std::size() work on it)
 *  when its elements are one-byte and trivially copyable; void otherwise. */
template <class C, class = void>
struct byte_element {
    using type = void;
};
template <class C>
struct byte_element<C, std::void_t<decltype(std::data(std::declval<C &>())),
                                   decltype(std::size(std::declval<C &>()))>> {
    using element = std::remove_pointer_t<decltype(std::data(std::declval<C &>()))>;
    using type = std::conditional_t<sizeof(element) == 1 && std::is_trivially_copyable_v<element>,
                                    element, void>;
};

/** Bytes to send: any contiguous range of one-byte elements (std::vector<std::uint8_t>,
 *  std::string, std::array<std::byte, N>, a C++20 std::span...), except a char array: a
 *  string literal is one, and its NUL must not be sent, so it goes to the
 *  std::string_view overloads instead. */
template <class C>
constexpr bool is_input_bytes()
{
    using element = typename byte_element<C>::type;
    return !std::is_void_v<element> &&
           !(std::is_array_v<std::remove_reference_t<C>> &&
             std::is_same_v<std::remove_cv_t<element>, char>);
}

/** A buffer to fill: a contiguous range of one-byte elements that are not const. */
template <class C>
constexpr bool is_output_bytes()
{
    using element = typename byte_element<C>::type;
    return !std::is_void_v<element> && !std::is_const_v<element>;
}

template <class C>
using if_input_bytes = std::enable_if_t<is_input_bytes<C>(), int>;
template <class C>
using if_output_bytes = std::enable_if_t<is_output_bytes<C>(), int>;

} // namespace detail

/**
 * A borrowed run of bytes (`data()`, `size()`), e.g. a certificate of the peer's chain.
 * It owns nothing: how long the bytes live is said where one is returned. It is a contiguous
 * range, so in C++20 a std::span<const std::uint8_t> can be made from it.
 */
class bytes_view {
public:
    /** An empty view. Never throws. */
    constexpr bytes_view() noexcept = default;
    /** `size` bytes at `data`. Never throws. */
    constexpr bytes_view(const std::uint8_t *data, std::size_t size) noexcept
        : data_(data), size_(size)
    {
    }
    /** The first byte (nullptr when empty). Never throws. */
    constexpr const std::uint8_t *data() const noexcept { return data_; }
    /** How many bytes. Never throws. */
    constexpr std::size_t size() const noexcept { return size_; }
    /** Whether there are none. Never throws. */
    constexpr bool empty() const noexcept { return size_ == 0; }
    /** The first byte, for iteration. Never throws. */
    constexpr const std::uint8_t *begin() const noexcept { return data_; }
    /** Past the last byte, for iteration. Never throws. */
    constexpr const std::uint8_t *end() const noexcept { return data_ + size_; }
    /** Byte `i` (unchecked, as std::span). Never throws. */
    constexpr std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }
    /** A copy of the bytes. Throws std::bad_alloc. */
    std::vector<std::uint8_t> to_vector() const
    {
        return std::vector<std::uint8_t>(begin(), end());
    }

private:
    const std::uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------
// Library-wide functions
// ---------------------------------------------------------------------------------------

/** "embertls X.Y.Z (rustls A.B.C)": the library's version (ember_version()). Static
 *  storage. Never throws. */
inline std::string_view version() noexcept
{
    return ember_version();
}

/** The identifier of `code`, e.g. "EMBER_ERR_CERT_EXPIRED" (ember_result_name()). Static
 *  storage. Never throws. */
inline std::string_view result_name(ember_result code) noexcept
{
    return ember_result_name(code);
}

/** A sentence describing `code` (ember_result_str()). Static storage. Never throws. */
inline std::string_view result_str(ember_result code) noexcept
{
    return ember_result_str(code);
}

namespace detail {
inline std::string_view or_empty(const char *s) noexcept
{
    return s != nullptr ? std::string_view(s) : std::string_view();
}
} // namespace detail

/** "TLSv1.2" or "TLSv1.3" for EMBER_TLS1_2 / EMBER_TLS1_3; "" for another value
 *  (ember_protocol_version_name()). Static storage. Never throws. */
inline std::string_view protocol_version_name(std::uint16_t version) noexcept
{
    return detail::or_empty(ember_protocol_version_name(version));
}

/** The IANA name of a cipher suite id, e.g. "TLS_AES_128_GCM_SHA256"; "" for a suite
 *  embertls cannot negotiate (ember_cipher_suite_name()). Static storage. Never throws. */
inline std::string_view cipher_suite_name(std::uint16_t suite) noexcept
{
    return detail::or_empty(ember_cipher_suite_name(suite));
}

/** The IANA name of a key-exchange group id, e.g. "X25519"; "" for an unknown one
 *  (ember_group_name()). Static storage. Never throws. */
inline std::string_view group_name(std::uint16_t group) noexcept
{
    return detail::or_empty(ember_group_name(group));
}

/** The RFC name of a TLS alert, e.g. "certificate_expired" for 45; "" for an unassigned
 *  value (ember_alert_name()). Static storage. Never throws. */
inline std::string_view alert_name(std::uint8_t alert) noexcept
{
    return detail::or_empty(ember_alert_name(alert));
}

/** The SHA-256 of the SubjectPublicKeyInfo of the DER certificate `der` (the value key
 *  pins are made of; ember_cert_spki_sha256()). Throws embertls::misuse_error
 *  (EMBER_ERR_BAD_CERTIFICATE) when the bytes are not a certificate. */
inline std::array<std::uint8_t, 32> cert_spki_sha256(bytes_view der)
{
    std::array<std::uint8_t, 32> out{};
    ember_result r = ember_cert_spki_sha256(der.data(), der.size(), out.data());
    if (r != EMBER_OK)
        throw_error(r);
    return out;
}

/** Whether the DER certificate `der` is valid for `server_name` (a DNS name or an IP
 *  address; ember_cert_check_name()): true when it is, false on
 *  EMBER_ERR_CERT_HOSTNAME_MISMATCH. Throws embertls::misuse_error for a certificate that
 *  cannot be parsed or a name that is neither a DNS name nor an IP address. */
inline bool cert_check_name(bytes_view der, std::string_view server_name)
{
    std::string name = detail::c_str(server_name);
    ember_result r = ember_cert_check_name(der.data(), der.size(), name.c_str());
    if (r == EMBER_OK)
        return true;
    if (r == EMBER_ERR_CERT_HOSTNAME_MISMATCH)
        return false;
    throw_error(r);
}

// ---------------------------------------------------------------------------------------
// Owners
// ---------------------------------------------------------------------------------------

namespace detail {
template <class T, void (*Free)(T *)>
struct deleter {
    void operator()(T *p) const noexcept { Free(p); }
};
} // namespace detail

/**
 * A trust store: the roots (and CRLs) a peer's chain is verified against. Owns one
 * ember_trust, freed on destruction. Move-only. Give it to Config::set_trust(), which
 * keeps its own reference: the Trust may be destroyed right after.
 *
 * Threads: changed by one thread at a time until a connection is made from a config that
 * uses it; then frozen (changes throw misuse_error EMBER_ERR_CONFIG_FROZEN) and shareable.
 */
class Trust {
public:
    /** An empty store, which trusts nothing (ember_trust_new()). Throws embertls::error
     *  (e.g. internal_error) if it cannot be made. */
    Trust()
    {
        ember_trust *t = nullptr;
        ember_result r = ember_trust_new(&t);
        if (r != EMBER_OK)
            throw_error(r);
        handle_.reset(t);
    }

    /** Takes ownership of `owned` (from ember_trust_new(); may be nullptr). Never throws. */
    explicit Trust(ember_trust *owned) noexcept : handle_(owned) {}

    /** Adds every CERTIFICATE block of `pem` as a root, all or nothing (ember_trust_add_pem()).
     *  The bytes are copied. Throws embertls::misuse_error (EMBER_ERR_BAD_PEM,
     *  EMBER_ERR_CONFIG_FROZEN...) with the store's detail. Returns *this. */
    Trust &add_pem(const void *pem, std::size_t len)
    {
        return check(ember_trust_add_pem(get(), static_cast<const std::uint8_t *>(pem), len));
    }
    /** add_pem() for PEM text. Throws as add_pem(). */
    Trust &add_pem(std::string_view pem) { return add_pem(pem.data(), pem.size()); }
    /** add_pem() for PEM in any contiguous range of bytes (std::vector<std::uint8_t>...).
     *  Throws as add_pem(). */
    template <class Bytes, detail::if_input_bytes<const Bytes &> = 0>
    Trust &add_pem(const Bytes &pem)
    {
        return add_pem(std::data(pem), std::size(pem));
    }

    /** Adds the roots of the PEM file at `path`, all or nothing (ember_trust_add_pem_file()).
     *  Throws embertls::misuse_error (EMBER_ERR_FILE naming the path and OS error,
     *  EMBER_ERR_BAD_PEM...). Returns *this. */
    Trust &add_pem_file(std::string_view path)
    {
        return check(ember_trust_add_pem_file(get(), detail::c_str(path).c_str()));
    }

    /** Adds the one DER certificate `der` as a root (ember_trust_add_der()); copied. Throws
     *  embertls::misuse_error (EMBER_ERR_BAD_CERTIFICATE...). Returns *this. */
    Trust &add_der(const void *der, std::size_t len)
    {
        return check(ember_trust_add_der(get(), static_cast<const std::uint8_t *>(der), len));
    }
    /** add_der() for any contiguous range of bytes (std::vector<std::uint8_t>, bytes_view,
     *  a C++20 span...). Throws as add_der(). */
    template <class Bytes, detail::if_input_bytes<const Bytes &> = 0>
    Trust &add_der(const Bytes &der)
    {
        return add_der(std::data(der), std::size(der));
    }

    /** What a lenient loader did: how many roots were new to the store, how many entries
     *  it skipped (last_error() names the first few). */
    struct load_counts {
        std::size_t added;
        std::size_t skipped;
    };

    /** Adds the certificates of every regular file in the directory `dir`, skipping what
     *  cannot be used (ember_trust_add_pem_dir()). Throws embertls::misuse_error
     *  (EMBER_ERR_FILE when the directory cannot be read, EMBER_ERR_BAD_PEM when it holds no
     *  usable certificate). */
    load_counts add_pem_dir(std::string_view dir)
    {
        load_counts out{0, 0};
        check(ember_trust_add_pem_dir(get(), detail::c_str(dir).c_str(), &out.added, &out.skipped));
        return out;
    }

    /** Adds the system's roots (SSL_CERT_FILE / SSL_CERT_DIR, else the platform bundle;
     *  ember_trust_add_system()). Throws embertls::misuse_error (EMBER_ERR_BAD_PEM when
     *  none was found). */
    load_counts add_system()
    {
        load_counts out{0, 0};
        check(ember_trust_add_system(get(), &out.added, &out.skipped));
        return out;
    }

    /** Adds the built-in Mozilla roots; returns how many were new (ember_trust_add_builtin()).
     *  Throws embertls::misuse_error (EMBER_ERR_CONFIG_FROZEN). */
    std::size_t add_builtin()
    {
        std::size_t n = 0;
        check(ember_trust_add_builtin(get(), &n));
        return n;
    }

    /** Adds CRLs: one in DER or every "X509 CRL" block of PEM, all or nothing
     *  (ember_trust_add_crl()); copied. Throws embertls::misuse_error (EMBER_ERR_BAD_PEM,
     *  EMBER_ERR_BAD_CRL...). Returns *this. */
    Trust &add_crl(const void *data, std::size_t len)
    {
        return check(ember_trust_add_crl(get(), static_cast<const std::uint8_t *>(data), len));
    }
    /** add_crl() for PEM text (or DER held in a string). Throws as add_crl(). */
    Trust &add_crl(std::string_view data) { return add_crl(data.data(), data.size()); }
    /** add_crl() for any contiguous range of bytes. Throws as add_crl(). */
    template <class Bytes, detail::if_input_bytes<const Bytes &> = 0>
    Trust &add_crl(const Bytes &data)
    {
        return add_crl(std::data(data), std::size(data));
    }

    /** Adds the CRLs of the file at `path` (PEM or DER; ember_trust_add_crl_file()). Throws
     *  embertls::misuse_error (EMBER_ERR_FILE, EMBER_ERR_BAD_CRL...). Returns *this. */
    Trust &add_crl_file(std::string_view path)
    {
        return check(ember_trust_add_crl_file(get(), detail::c_str(path).c_str()));
    }

    /** Sets how CRLs apply: a bitwise OR of EMBER_REVOCATION_* flags, 0 the strictest
     *  (ember_trust_set_revocation()). Throws embertls::misuse_error (EMBER_ERR_INVALID_ARG
     *  for an unknown bit, EMBER_ERR_CONFIG_FROZEN). Returns *this. */
    Trust &set_revocation(std::uint32_t flags)
    {
        return check(ember_trust_set_revocation(get(), flags));
    }

    /** How many roots the store holds (ember_trust_count()). Throws embertls::misuse_error
     *  on a moved-from Trust. */
    std::size_t count() const
    {
        std::size_t n = 0;
        fail_unless_ok(ember_trust_count(get(), &n));
        return n;
    }

    /** How many CRLs the store holds (ember_trust_crl_count()). Throws as count(). */
    std::size_t crl_count() const
    {
        std::size_t n = 0;
        fail_unless_ok(ember_trust_crl_count(get(), &n));
        return n;
    }

    /** The detail of the store's last failure or skip (ember_trust_last_error()); "" when
     *  there is none. Never throws but std::bad_alloc. */
    std::string last_error() const { return detail::last_error(ember_trust_last_error, get()); }

    /** The C handle, still owned by this Trust (nullptr once moved from). Never throws. */
    ember_trust *get() const noexcept { return handle_.get(); }
    /** Gives up ownership: the caller frees the returned handle with ember_trust_free().
     *  Never throws. */
    ember_trust *release() noexcept { return handle_.release(); }
    /** Whether this Trust holds a store (false once moved from). Never throws. */
    bool valid() const noexcept { return handle_ != nullptr; }

private:
    void fail_unless_ok(ember_result r) const
    {
        if (r != EMBER_OK)
            throw_error(r, last_error());
    }
    Trust &check(ember_result r)
    {
        fail_unless_ok(r);
        return *this;
    }

    std::unique_ptr<ember_trust, detail::deleter<ember_trust, ember_trust_free>> handle_;
};

/**
 * A client session cache that several client configs share (so a connection from one
 * resumes a session another obtained). Owns one ember_session_cache, freed on destruction.
 * Move-only. Configs keep their own reference: it may be destroyed after
 * Config::set_session_cache(). Any number of threads may use it.
 */
class SessionCache {
public:
    /** A cache for up to `capacity` servers (ember_session_cache_new()). Throws
     *  embertls::misuse_error (EMBER_ERR_INVALID_ARG) when `capacity` is 0. */
    explicit SessionCache(std::size_t capacity)
    {
        ember_session_cache *c = nullptr;
        ember_result r = ember_session_cache_new(capacity, &c);
        if (r != EMBER_OK)
            throw_error(r);
        handle_.reset(c);
    }

    /** Takes ownership of `owned` (may be nullptr). Never throws. */
    explicit SessionCache(ember_session_cache *owned) noexcept : handle_(owned) {}

    /** The C handle, still owned by this cache (nullptr once moved from). Never throws. */
    ember_session_cache *get() const noexcept { return handle_.get(); }
    /** Gives up ownership: the caller frees the handle with ember_session_cache_free().
     *  Never throws. */
    ember_session_cache *release() noexcept { return handle_.release(); }
    /** Whether this object holds a cache (false once moved from). Never throws. */
    bool valid() const noexcept { return handle_ != nullptr; }

private:
    std::unique_ptr<ember_session_cache,
                    detail::deleter<ember_session_cache, ember_session_cache_free>>
        handle_;
};

/**
 * What connections are made from: role, versions, trust, certificates, ALPN, sessions.
 * Owns one ember_config, freed on destruction. Move-only. Connections keep the config
 * alive, so it may be destroyed once the last Conn was made from it.
 *
 * Setters return *this, so they chain:
 *     auto cfg = embertls::Config::client();
 *     cfg.set_versions(EMBER_TLS1_3, EMBER_TLS1_3).set_alpn({"h2", "http/1.1"});
 * and throw embertls::error with the config's detail (ember_config_last_error()) on
 * failure; once a connection has been made from the config every setter throws
 * misuse_error EMBER_ERR_CONFIG_FROZEN. Threads: one thread at a time until frozen, then
 * any number may make connections from it.
 */
class Config {
public:
    /** A config for `role` (ember_config_new()): TLS 1.2 and 1.3; a client trusts the
     *  built-in Mozilla roots; a server needs add_cert_pem_file() before connections.
     *  Throws embertls::misuse_error for an invalid role, internal_error if the system's
     *  random number generator fails. */
    explicit Config(ember_role role)
    {
        ember_config *c = nullptr;
        ember_result r = ember_config_new(role, &c);
        if (r != EMBER_OK)
            throw_error(r);
        handle_.reset(c);
    }

    /** Takes ownership of `owned` (from ember_config_new(); may be nullptr). Never throws. */
    explicit Config(ember_config *owned) noexcept : handle_(owned) {}

    /** Config(EMBER_ROLE_CLIENT). Throws as the constructor. */
    static Config client() { return Config(EMBER_ROLE_CLIENT); }
    /** Config(EMBER_ROLE_SERVER). Throws as the constructor. */
    static Config server() { return Config(EMBER_ROLE_SERVER); }

    /** Limits connections to versions `min` through `max`, each EMBER_TLS1_2 or
     *  EMBER_TLS1_3 (ember_config_set_versions()). Throws embertls::misuse_error
     *  (EMBER_ERR_INVALID_ARG for another value or min > max). */
    Config &set_versions(std::uint16_t min, std::uint16_t max)
    {
        return check(ember_config_set_versions(get(), min, max));
    }

    /** Verifies peers against `trust` (ember_config_set_trust()): on a client instead of
     *  the built-in roots, on a server to require client certificates. The config keeps its
     *  own reference; `trust` stays the caller's. Throws embertls::misuse_error. */
    Config &set_trust(const Trust &trust)
    {
        return check(ember_config_set_trust(get(), trust.get()));
    }

    /** Whether a server asks clients for a certificate (ember_config_set_client_auth()).
     *  Throws embertls::misuse_error (EMBER_ERR_WRONG_ROLE on a client). */
    Config &set_client_auth(ember_client_auth mode)
    {
        return check(ember_config_set_client_auth(get(), mode));
    }

    /** Loads a certificate chain and its key from PEM files, checking that they match
     *  (ember_config_add_cert_pem_file()). Throws embertls::misuse_error (EMBER_ERR_FILE,
     *  EMBER_ERR_BAD_PEM, EMBER_ERR_BAD_KEY, EMBER_ERR_KEY_MISMATCH) naming the file. */
    Config &add_cert_pem_file(std::string_view chain_path, std::string_view key_path)
    {
        return check(ember_config_add_cert_pem_file(get(), detail::c_str(chain_path).c_str(),
                                                    detail::c_str(key_path).c_str()));
    }

    /** add_cert_pem_file() for PEM held in memory (ember_config_add_cert_pem()); both are
     *  copied. Throws as add_cert_pem_file(), never EMBER_ERR_FILE. */
    Config &add_cert_pem(std::string_view chain, std::string_view key)
    {
        return check(ember_config_add_cert_pem(
            get(), reinterpret_cast<const std::uint8_t *>(chain.data()), chain.size(),
            reinterpret_cast<const std::uint8_t *>(key.data()), key.size()));
    }

    /** Sets the ALPN protocols offered (client) or accepted (server), most preferred first;
     *  none turns ALPN off (ember_config_set_alpn()). The names are copied. Throws
     *  embertls::misuse_error (EMBER_ERR_INVALID_ARG for an empty name or one over 255
     *  bytes). */
    Config &set_alpn(std::initializer_list<std::string_view> protocols)
    {
        return set_alpn_range(protocols);
    }
    /** set_alpn() from any range of strings (std::vector<std::string>, ...). Throws as
     *  set_alpn(). */
    template <class Strings>
    Config &set_alpn(const Strings &protocols)
    {
        return set_alpn_range(protocols);
    }

    /** Shares `cache` among client configs (ember_config_set_session_cache()); the config
     *  keeps its own reference. Throws embertls::misuse_error (EMBER_ERR_WRONG_ROLE on a
     *  server). */
    Config &set_session_cache(const SessionCache &cache)
    {
        return check(ember_config_set_session_cache(get(), cache.get()));
    }

    /** How many sessions the config keeps in memory; 0 for none
     *  (ember_config_set_session_cache_size()). Throws embertls::misuse_error. */
    Config &set_session_cache_size(std::size_t size)
    {
        return check(ember_config_set_session_cache_size(get(), size));
    }

    /** Turns a server's session tickets on or off (ember_config_set_tickets()). Throws
     *  embertls::misuse_error (EMBER_ERR_WRONG_ROLE on a client). */
    Config &set_tickets(bool enable)
    {
        return check(ember_config_set_tickets(get(), enable ? 1 : 0));
    }

    /** Seals and opens a server's tickets with the application's keys, 80 bytes each
     *  (ember_config_set_ticket_keys()); copied. Throws embertls::misuse_error
     *  (EMBER_ERR_INVALID_ARG for a length that is not a multiple of 80). */
    Config &set_ticket_keys(const void *keys, std::size_t len)
    {
        auto bytes = static_cast<const std::uint8_t *>(keys);
        return check(ember_config_set_ticket_keys(get(), bytes, len));
    }

    /** set_ticket_keys() with the keys read from the file at `path`
     *  (ember_config_set_ticket_key_file()). Throws embertls::misuse_error (EMBER_ERR_FILE...). */
    Config &set_ticket_key_file(std::string_view path)
    {
        return check(ember_config_set_ticket_key_file(get(), detail::c_str(path).c_str()));
    }

    /** Lets `cb` decide on the server chains a client receives
     *  (ember_config_set_verify_callback()). `userdata` stays the caller's and must outlive
     *  every connection made from this config. Throws embertls::misuse_error. */
    Config &set_verify_callback(ember_verify_cb cb, void *userdata)
    {
        return check(ember_config_set_verify_callback(get(), cb, userdata));
    }

    /** Reports each handshake step to `cb` (ember_config_set_trace_callback()); `userdata`
     *  as for set_verify_callback(). Throws embertls::misuse_error. */
    Config &set_trace_callback(ember_trace_cb cb, void *userdata)
    {
        return check(ember_config_set_trace_callback(get(), cb, userdata));
    }

    /** Hands every derived secret to `cb` as NSS key-log lines, for debugging
     *  (ember_config_set_keylog_callback()); `userdata` as for set_verify_callback().
     *  Throws embertls::misuse_error. */
    Config &set_keylog_callback(ember_keylog_cb cb, void *userdata)
    {
        return check(ember_config_set_keylog_callback(get(), cb, userdata));
    }

    /** Honours SSLKEYLOGFILE when `enable` (ember_config_set_sslkeylogfile()). Throws
     *  embertls::misuse_error. */
    Config &set_sslkeylogfile(bool enable)
    {
        return check(ember_config_set_sslkeylogfile(get(), enable ? 1 : 0));
    }

    /** The detail of the config's last failure, including a failed Conn construction
     *  (ember_config_last_error()); "" when none. Never throws but std::bad_alloc. */
    std::string last_error() const { return detail::last_error(ember_config_last_error, get()); }

    /** The C handle, still owned by this Config (nullptr once moved from). Never throws. */
    ember_config *get() const noexcept { return handle_.get(); }
    /** Gives up ownership: the caller frees the handle with ember_config_free(). Never throws. */
    ember_config *release() noexcept { return handle_.release(); }
    /** Whether this Config holds a config (false once moved from). Never throws. */
    bool valid() const noexcept { return handle_ != nullptr; }

private:
    Config &check(ember_result r)
    {
        if (r != EMBER_OK)
            throw_error(r, last_error());
        return *this;
    }

    template <class Strings>
    Config &set_alpn_range(const Strings &protocols)
    {
        std::vector<std::string> copies;
        for (const auto &p : protocols)
            copies.emplace_back(std::string_view(p));
        std::vector<const char *> pointers;
        pointers.reserve(copies.size());
        for (const auto &p : copies)
            pointers.push_back(p.c_str());
        return check(ember_config_set_alpn(get(), pointers.data(), pointers.size()));
    }

    std::unique_ptr<ember_config, detail::deleter<ember_config, ember_config_free>> handle_;
};

/**
 * One TLS connection. Owns one ember_conn, freed on destruction (which sends nothing: call
 * close() first for a clean end; a file descriptor given to set_fd() is not closed).
 * Move-only. It keeps its config alive. Threads: one thread at a time.
 *
 * I/O: memory mode (feed()/drain()) unless set_fd() or set_io() chose a transport before
 * the first handshake call. handshake(), read(), write(), flush() and close() return a
 * status for progress (want_read / want_write when non-blocking I/O would block, closed
 * after the peer's close_notify) and throw embertls::error for failures, with the
 * connection's detail (ember_conn_last_error()). A failure is final: later calls throw the
 * same code.
 */
class Conn {
public:
    /** A client connection from `cfg` to `server_name` (a DNS name or IP literal, sent as
     *  SNI and verified; ember_conn_new()). Freezes `cfg`. Throws embertls::misuse_error
     *  (EMBER_ERR_INVALID_ARG for a name that is neither, EMBER_ERR_NO_CERTIFICATE for a
     *  server config without one...) with the config's detail. */
    Conn(const Config &cfg, std::string_view server_name)
    {
        make(cfg, detail::c_str(server_name).c_str());
    }

    /** A server connection from `cfg` (ember_conn_new() with no name). Throws as above. */
    explicit Conn(const Config &cfg) { make(cfg, nullptr); }

    /** Takes ownership of `owned` (from ember_conn_new(); may be nullptr). Never throws. */
    explicit Conn(ember_conn *owned) noexcept : handle_(owned) {}

    /** Reads and writes the file descriptor `fd`, blocking or O_NONBLOCK
     *  (ember_conn_set_fd()). The fd stays the caller's. Throws embertls::misuse_error
     *  (EMBER_ERR_WRONG_STATE when I/O was already chosen). */
    void set_fd(int fd) { check(ember_conn_set_fd(get(), fd)); }

    /** Reads and writes through callbacks (ember_conn_set_io()); `userdata` stays the
     *  caller's and must outlive the connection's use of it. Throws embertls::misuse_error. */
    void set_io(ember_read_cb rd, ember_write_cb wr, void *userdata)
    {
        check(ember_conn_set_io(get(), rd, wr, userdata));
    }

    /** Memory mode: gives the connection bytes received from the peer; returns how many it
     *  took (fewer only when decrypted data waits for read()) (ember_conn_feed()). Throws
     *  embertls::error when processing them failed (drain() then gives the alert to send)
     *  or on a connection with a transport (misuse_error EMBER_ERR_WRONG_STATE). */
    std::size_t feed(const void *data, std::size_t len)
    {
        std::size_t n = 0;
        check(ember_conn_feed(get(), static_cast<const std::uint8_t *>(data), len, &n));
        return n;
    }
    /** feed() for bytes held in a std::string_view. Throws as feed(). */
    std::size_t feed(std::string_view data) { return feed(data.data(), data.size()); }
    /** feed() for any contiguous range of bytes (std::vector<std::uint8_t>, a span...).
     *  Throws as feed(). */
    template <class Bytes, detail::if_input_bytes<const Bytes &> = 0>
    std::size_t feed(const Bytes &data)
    {
        return feed(std::data(data), std::size(data));
    }

    /** Memory mode: tells the connection that the peer's transport ended (feeds zero
     *  bytes). Throws as feed(). */
    void feed_eof() { feed(nullptr, 0); }

    /** Memory mode: moves up to `len` bytes to send into `buf` and returns how many (0 when
     *  none are pending) (ember_conn_drain()). Works after a failure, so the alert can be
     *  sent. Throws embertls::misuse_error on a connection with a transport. */
    std::size_t drain(void *buf, std::size_t len)
    {
        std::size_t n = 0;
        check(ember_conn_drain(get(), static_cast<std::uint8_t *>(buf), len, &n));
        return n;
    }
    /** drain() into any writable contiguous range of bytes. Throws as drain(). */
    template <class Bytes, detail::if_output_bytes<Bytes &&> = 0>
    std::size_t drain(Bytes &&buf)
    {
        return drain(std::data(buf), std::size(buf));
    }
    /** Every pending byte, appended to `out`; returns how many. Throws as drain(). */
    std::size_t drain_into(std::vector<std::uint8_t> &out)
    {
        std::size_t total = 0;
        while (std::size_t pending = pending_output()) {
            std::size_t at = out.size();
            out.resize(at + pending);
            std::size_t n = drain(out.data() + at, pending);
            out.resize(at + n);
            total += n;
            if (n == 0)
                break;
        }
        return total;
    }
    /** Every pending byte, as a new vector. Throws as drain(). */
    std::vector<std::uint8_t> drain()
    {
        std::vector<std::uint8_t> out;
        drain_into(out);
        return out;
    }

    /** Bytes waiting to be drained (memory mode) or flushed (ember_conn_pending_output()).
     *  Never throws. */
    std::size_t pending_output() const noexcept { return ember_conn_pending_output(get()); }

    /** Drives the handshake (ember_conn_handshake()): status::ok once complete (again is
     *  harmless), status::want_read / status::want_write when non-blocking I/O would block.
     *  Throws embertls::cert_error when the peer's certificate is refused, handshake_error
     *  when negotiation fails, io_error for the transport or an unexpected EOF. */
    status handshake() { return progress(ember_conn_handshake(get())); }

    /** Reads decrypted data into `buf` (ember_conn_read()), finishing the handshake first
     *  if needed. Returns {ok, n > 0}; {closed, 0} after the peer's close_notify (a clean
     *  end, and it stays so); {want_read, 0} / {want_write, 0} when non-blocking I/O would
     *  block. Throws as handshake(); io_error EMBER_ERR_UNEXPECTED_EOF when the peer's
     *  stream ended without close_notify (never a clean end). */
    io_result read(void *buf, std::size_t len)
    {
        std::size_t n = 0;
        status s = progress(ember_conn_read(get(), static_cast<std::uint8_t *>(buf), len, &n));
        return io_result{s, n};
    }
    /** read() into any writable contiguous range of bytes (std::vector<std::uint8_t>,
     *  std::array<char, N>, a char array, a C++20 std::span<std::byte>...). Throws as
     *  read(). */
    template <class Bytes, detail::if_output_bytes<Bytes &&> = 0>
    io_result read(Bytes &&buf)
    {
        return read(std::data(buf), std::size(buf));
    }

    /** Encrypts and sends data (ember_conn_write()), finishing the handshake first if
     *  needed. Blocking I/O: every byte is written ({ok, len}). Non-blocking I/O or memory
     *  mode: {ok, n} with n possibly < len (pass the rest again later), or {want_write, 0}
     *  / {want_read, 0}. Accepted bytes are never lost or sent twice. Throws as handshake();
     *  misuse_error EMBER_ERR_WRONG_STATE after close(). */
    io_result write(const void *data, std::size_t len)
    {
        std::size_t n = 0;
        auto bytes = static_cast<const std::uint8_t *>(data);
        status s = progress(ember_conn_write(get(), bytes, len, &n));
        return io_result{s, n};
    }
    /** write() for text (a string literal is sent without its NUL). Throws as write(). */
    io_result write(std::string_view data) { return write(data.data(), data.size()); }
    /** write() for any contiguous range of bytes. Throws as write(). */
    template <class Bytes, detail::if_input_bytes<const Bytes &> = 0>
    io_result write(const Bytes &data)
    {
        return write(std::data(data), std::size(data));
    }

    /** Writes all pending output (ember_conn_flush()): status::ok when nothing is left
     *  (always in memory mode), status::want_write when a non-blocking transport would
     *  block. Throws the connection's failure. */
    status flush() { return progress(ember_conn_flush(get())); }

    /** Sends close_notify, once, and flushes it (ember_conn_close()): status::ok when it is
     *  written (memory mode: ready to drain), status::want_write when a non-blocking
     *  transport would block (flush() later). Reads go on until status::closed. Throws the
     *  connection's failure. */
    status close() { return progress(ember_conn_close(get())); }

    /** Moves both directions of a TLS 1.3 connection to fresh keys (ember_conn_key_update()).
     *  Throws embertls::misuse_error EMBER_ERR_WRONG_STATE before the handshake completed, after
     *  close(), or on TLS 1.2. */
    void key_update() { check(ember_conn_key_update(get())); }

    /** `len` bytes of keying material for `label` and, when given, `context`
     *  (ember_conn_export_keying_material(); RFC 5705 / RFC 8446 7.5). Throws
     *  embertls::misuse_error EMBER_ERR_WRONG_STATE before the handshake completed. */
    std::vector<std::uint8_t>
    export_keying_material(std::size_t len, std::string_view label,
                           std::optional<std::string_view> context = std::nullopt)
    {
        std::vector<std::uint8_t> out(len);
        check(ember_conn_export_keying_material(
            get(), reinterpret_cast<const std::uint8_t *>(label.data()), label.size(),
            context ? reinterpret_cast<const std::uint8_t *>(context->data()) : nullptr,
            context ? context->size() : 0, out.data(), out.size()));
        return out;
    }

    // --- Facts about the connection -----------------------------------------------------

    /** The negotiated version, EMBER_TLS1_2 or EMBER_TLS1_3 (ember_conn_protocol_version()).
     *  Throws embertls::misuse_error EMBER_ERR_WRONG_STATE before it is negotiated. */
    std::uint16_t protocol_version() const
    {
        std::uint16_t v = 0;
        check(ember_conn_protocol_version(get(), &v));
        return v;
    }
    /** "TLSv1.2" or "TLSv1.3". Throws as protocol_version(). */
    std::string_view protocol_version_name() const
    {
        return embertls::protocol_version_name(protocol_version());
    }

    /** The negotiated cipher suite's IANA id, e.g. 0x1301 (ember_conn_cipher_suite()).
     *  Throws embertls::misuse_error EMBER_ERR_WRONG_STATE before it is negotiated. */
    std::uint16_t cipher_suite() const
    {
        std::uint16_t v = 0;
        check(ember_conn_cipher_suite(get(), &v));
        return v;
    }
    /** The suite's IANA name, e.g. "TLS_AES_128_GCM_SHA256". Throws as cipher_suite(). */
    std::string_view cipher_suite_name() const
    {
        return embertls::cipher_suite_name(cipher_suite());
    }

    /** The key-exchange group's IANA id, e.g. 0x001d (ember_conn_kx_group()). Throws
     *  embertls::misuse_error EMBER_ERR_WRONG_STATE before the key exchange. */
    std::uint16_t kx_group() const
    {
        std::uint16_t v = 0;
        check(ember_conn_kx_group(get(), &v));
        return v;
    }
    /** The group's name, e.g. "X25519". Throws as kx_group(). */
    std::string_view kx_group_name() const { return embertls::group_name(kx_group()); }

    /** The server name: a client's own, or the SNI a server received; std::nullopt on a
     *  server before the ClientHello or when the client sent none (ember_conn_server_name()).
     *  Throws embertls::error for a poisoned connection. */
    std::optional<std::string> server_name() const
    {
        return optional_text(ember_conn_server_name);
    }

    /** The ALPN protocol agreed, e.g. "h2"; std::nullopt when none was (yet)
     *  (ember_conn_alpn()). Throws embertls::error for a poisoned connection. */
    std::optional<std::string> alpn() const { return optional_text(ember_conn_alpn); }

    /** Whether the handshake resumed an earlier session (ember_conn_is_resumed()). Throws
     *  embertls::misuse_error EMBER_ERR_WRONG_STATE until the handshake completed. */
    bool resumed() const
    {
        int r = 0;
        check(ember_conn_is_resumed(get(), &r));
        return r != 0;
    }

    /** How long the handshake took, in nanoseconds (ember_conn_handshake_ns()). Throws
     *  embertls::misuse_error EMBER_ERR_WRONG_STATE until it completed. */
    std::uint64_t handshake_ns() const
    {
        std::uint64_t ns = 0;
        check(ember_conn_handshake_ns(get(), &ns));
        return ns;
    }

    /** The connection's id in this process, as trace events carry it (ember_conn_id()).
     *  Throws embertls::error for a poisoned connection. */
    std::uint64_t id() const
    {
        std::uint64_t v = 0;
        check(ember_conn_id(get(), &v));
        return v;
    }

    /** The alert description the peer sent with its fatal alert, if it sent one
     *  (ember_conn_peer_alert(); alert_name() names it). Never throws. */
    std::optional<std::uint8_t> peer_alert() const noexcept
    {
        std::uint8_t alert = 0;
        if (ember_conn_peer_alert(get(), &alert) != EMBER_OK)
            return std::nullopt;
        return alert;
    }

    /** How many certificates the peer presented (ember_conn_peer_cert_count()). Throws
     *  embertls::misuse_error EMBER_ERR_WRONG_STATE before the chain is known or when the
     *  peer sent none. */
    std::size_t peer_cert_count() const
    {
        std::size_t n = 0;
        check(ember_conn_peer_cert_count(get(), &n));
        return n;
    }

    /** Certificate `index` of the peer's chain, DER; 0 is the peer's own
     *  (ember_conn_peer_cert()). The bytes belong to the connection and stay valid until it
     *  is destroyed. Throws embertls::misuse_error (EMBER_ERR_WRONG_STATE,
     *  EMBER_ERR_INVALID_ARG for an index past the chain). */
    bytes_view peer_cert(std::size_t index) const
    {
        const std::uint8_t *der = nullptr;
        std::size_t len = 0;
        check(ember_conn_peer_cert(get(), index, &der, &len));
        return bytes_view(der, len);
    }

    /** The errno behind the last io_error EMBER_ERR_IO, else 0 (ember_conn_os_error()).
     *  Never throws. */
    int os_error() const noexcept { return ember_conn_os_error(get()); }

    /** The detail of the connection's last failure (ember_conn_last_error()); "" when none.
     *  Never throws but std::bad_alloc. */
    std::string last_error() const { return detail::last_error(ember_conn_last_error, get()); }

    /** The C handle, still owned by this Conn (nullptr once moved from). Never throws. */
    ember_conn *get() const noexcept { return handle_.get(); }
    /** Gives up ownership: the caller frees the handle with ember_conn_free(). Never throws. */
    ember_conn *release() noexcept { return handle_.release(); }
    /** Whether this Conn holds a connection (false once moved from). Never throws. */
    bool valid() const noexcept { return handle_ != nullptr; }

private:
    void make(const Config &cfg, const char *server_name)
    {
        ember_conn *c = nullptr;
        ember_result r = ember_conn_new(cfg.get(), server_name, &c);
        if (r != EMBER_OK)
            throw_error(r, cfg.last_error());
        handle_.reset(c);
    }

    void check(ember_result r) const
    {
        if (r != EMBER_OK)
            throw_error(r, last_error());
    }

    status progress(ember_result r) const
    {
        if (std::optional<status> s = detail::progress(r))
            return *s;
        throw_error(r, last_error());
    }

    /** A string out of one of the (conn, buf, len, &n) getters; nullopt on WRONG_STATE. */
    std::optional<std::string> optional_text(
        ember_result (*fn)(const ember_conn *, char *, std::size_t, std::size_t *)) const
    {
        std::string text;
        ember_result r = detail::read_text(fn, get(), text);
        if (r == EMBER_ERR_WRONG_STATE)
            return std::nullopt;
        check(r);
        return text;
    }

    std::unique_ptr<ember_conn, detail::deleter<ember_conn, ember_conn_free>> handle_;
};

} // namespace embertls

#endif /* EMBERTLS_HPP */
