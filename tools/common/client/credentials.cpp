#include "client/credentials.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tilmash::client {

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Adds "authorization: Bearer <token>" to every call's initial metadata. An interceptor rather
// than call credentials, because gRPC withholds call credentials on plaintext loopback.
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string& header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    methods->Proceed();
  }

 private:
  const std::string& header_;
};

class TokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token) : header_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(header_);
  }

 private:
  const std::string header_;  // outlives every interceptor: the channel owns the factory
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool Readable(const std::string& path) {
  std::ifstream in(path);
  return in.good();
}

// The file the token will be read from, if any: the given one, else $TILMASH_TOKEN_FILE unless a
// token is given or in $TILMASH_TOKEN.
std::string TokenFile(const Credentials& given) {
  if (!given.token.empty()) return "";
  if (!given.token_file.empty()) return given.token_file;
  if (!Env("TILMASH_TOKEN").empty()) return "";
  return Env("TILMASH_TOKEN_FILE");
}

}  // namespace

std::string ReadTokenFile(const std::string& path) {
  std::string t = ReadAll(path);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

Credentials CredentialsFromEnvironment(Credentials c) {
  const bool tls_given = !c.ca_file.empty() || !c.cert_file.empty();
  const std::string token_file = TokenFile(c);
  if (c.token.empty() && !token_file.empty()) c.token = ReadTokenFile(token_file);
  if (c.token.empty()) c.token = Env("TILMASH_TOKEN");
  if (c.ca_file.empty()) c.ca_file = Env("TILMASH_CA");
  if (!c.plaintext && !tls_given && Env("TILMASH_PLAINTEXT") == "1") c.plaintext = true;
  return c;
}

std::string CredentialsProblem(const Credentials& given) {
  const std::string token_file = TokenFile(given);
  if (!token_file.empty()) {
    if (!Readable(token_file)) return "cannot read token file " + token_file;
    if (ReadTokenFile(token_file).empty()) return "token file " + token_file + " is empty";
  }
  const Credentials c = CredentialsFromEnvironment(given);
  if (c.cert_file.empty() != c.key_file.empty()) return "a client certificate needs its key (--cert and --key)";
  if (c.plaintext) return "";
  if (!c.ca_file.empty() && !Readable(c.ca_file)) return "cannot read CA file " + c.ca_file;
  if (!c.cert_file.empty() && !Readable(c.cert_file)) return "cannot read certificate file " + c.cert_file;
  if (!c.key_file.empty() && !Readable(c.key_file)) return "cannot read key file " + c.key_file;
  return "";
}

std::shared_ptr<grpc::Channel> ConnectWith(const std::string& target, const Credentials& c, bool own_connection) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (c.plaintext) {
    creds = grpc::experimental::LocalCredentials(LOCAL_TCP);
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!c.ca_file.empty()) ssl.pem_root_certs = ReadAll(c.ca_file);
    if (!c.cert_file.empty()) ssl.pem_cert_chain = ReadAll(c.cert_file);
    if (!c.key_file.empty()) ssl.pem_private_key = ReadAll(c.key_file);
    creds = grpc::SslCredentials(ssl);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!c.token.empty()) interceptors.push_back(std::make_unique<TokenInterceptorFactory>(c.token));
  grpc::ChannelArguments args;
  if (own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, creds, args, std::move(interceptors));
}

}  // namespace tilmash::client
