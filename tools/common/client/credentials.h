// How a tool or test proves who it is: TLS (the daemon's CA) or plaintext on loopback, plus a
// bearer token attached to every call by a client interceptor.
#pragma once
#include <memory>
#include <string>

namespace grpc {
class Channel;
}  // namespace grpc

namespace tilmash::client {

struct Credentials {
  std::string token;                // bearer token (JWT); "" sends none
  std::string ca_file;              // PEM CA of the daemon's certificate; "" with plaintext
  bool plaintext = false;           // gRPC local credentials: loopback only, no TLS
  std::string cert_file, key_file;  // client certificate (mutual TLS), optional
  std::string token_file;           // read into `token` when that is empty (before the environment)
};

// What the environment variables are, for --help texts.
inline constexpr const char* kCredentialsEnvironmentHelp = R"(Credentials (flags win over the environment):
  TILMASH_TOKEN        bearer token (like --token)
  TILMASH_TOKEN_FILE   file holding the bearer token (like --token-file)
  TILMASH_CA           PEM CA of the daemon's certificate (like --ca)
  TILMASH_PLAINTEXT=1  no TLS, for a loopback daemon started with --plaintext (like --plaintext))";

// Reads --token / --token-file / $TILMASH_TOKEN / $TILMASH_TOKEN_FILE, --ca / $TILMASH_CA,
// --plaintext / $TILMASH_PLAINTEXT=1 conventions: values already given win over the environment
// (a given token_file beats $TILMASH_TOKEN; a given ca_file or cert_file beats $TILMASH_PLAINTEXT).
Credentials CredentialsFromEnvironment(Credentials given);
std::string ReadTokenFile(const std::string& path);

// What would make CredentialsFromEnvironment(given) unusable, as one sentence: a token, CA,
// certificate or key file (given or from the environment) that cannot be read, an empty token
// file, a certificate without its key. "" when there is nothing to complain about.
std::string CredentialsProblem(const Credentials& given);

// own_connection: a TCP connection of its own (gRPC otherwise shares one between channels with
// the same target and arguments), as separate devices would have.
std::shared_ptr<grpc::Channel> ConnectWith(const std::string& target, const Credentials& credentials,
                                           bool own_connection = false);

// Adds --token, --token-file, --ca, --plaintext, --cert and --key to a CLI11 app (a template so
// this header needs no CLI11). Check CredentialsProblem(given) after parsing.
template <class App>
void AddCredentialOptions(App& app, Credentials& given) {
  auto* token = app.add_option("--token", given.token, "bearer token (beats $TILMASH_TOKEN)");
  auto* token_file =
      app.add_option("--token-file", given.token_file, "read the bearer token from FILE (beats $TILMASH_TOKEN_FILE)");
  token->excludes(token_file);
  auto* plaintext = app.add_flag("--plaintext", given.plaintext,
                                 "no TLS: a loopback daemon started with --plaintext (beats $TILMASH_PLAINTEXT)");
  auto* ca = app.add_option("--ca", given.ca_file, "PEM CA of the daemon's certificate (beats $TILMASH_CA)");
  auto* cert = app.add_option("--cert", given.cert_file, "client certificate (PEM) for mutual TLS");
  auto* key = app.add_option("--key", given.key_file, "private key (PEM) of --cert");
  cert->needs(key);
  key->needs(cert);
  for (auto* tls : {ca, cert, key}) plaintext->excludes(tls);
}

}  // namespace tilmash::client
