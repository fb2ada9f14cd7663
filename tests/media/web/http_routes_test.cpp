// The HTTP side's routing (a pure function): the JSON API and the browser console's routes.
#include <gtest/gtest.h>

#include "web/http_routes.h"

namespace tilmash::web {
namespace {

RouteOptions All() { return RouteOptions{true, true, true, true, true, true, true}; }

Route Post(const char* path, const char* type, const char* auth = "Bearer tok") {
  return RouteRequest(HttpRequest{"POST", path, auth, type}, All());
}

TEST(HttpRoutesTest, TheApiTakesPublicServicesAsJsonWithAToken) {
  Route r = Post("/api/v1/BoothService/SetMic", "application/json");
  EXPECT_EQ(r.kind, Route::Kind::kApiCall);
  EXPECT_EQ(r.method, "tilmash.v1.BoothService/SetMic");
  EXPECT_EQ(r.token, "tok");
  EXPECT_EQ(Post("/api/v1/SessionService/GetSession", "application/json").method,
            "tilmash.v1.SessionService/GetSession");

  r = Post("/api/v1/TokenService/MintToken", "application/json");
  EXPECT_EQ(r.kind, Route::Kind::kRefuse);
  EXPECT_EQ(r.status, 404) << "minting tokens stays on gRPC";
  EXPECT_NE(r.message.find("TokenService"), std::string::npos);
  EXPECT_EQ(Post("/api/v1/BoothService/SetMic", "text/plain").status, 415);
  r = Post("/api/v1/BoothService/SetMic", "application/json", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.bearer_challenge);
  r = RouteRequest(HttpRequest{"GET", "/api/v1/BoothService/GetBooth", "Bearer t", ""}, All());
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  EXPECT_EQ(Post("/api/v1/BoothService/Set-Mic", "application/json").status, 404) << "a method is letters only";
  EXPECT_EQ(Post("/api/v1/BoothService", "application/json").status, 404);

  RouteOptions no_api = All();
  no_api.api = false;
  EXPECT_EQ(
      RouteRequest(HttpRequest{"POST", "/api/v1/BoothService/SetMic", "Bearer t", "application/json"}, no_api).status,
      405)
      << "without the API the path is only a page path";
}

TEST(HttpRoutesTest, AConsoleIsAnSdpOfferAndEndsWithDelete) {
  Route r = Post("/booth/s-1/console", "application/sdp");
  EXPECT_EQ(r.kind, Route::Kind::kConsoleOffer);
  EXPECT_EQ(r.session, "s-1");
  EXPECT_EQ(r.token, "tok");
  r = RouteRequest(HttpRequest{"DELETE", "/booth/s-1/console/c-9", "Bearer tok", ""}, All());
  EXPECT_EQ(r.kind, Route::Kind::kConsoleEnd);
  EXPECT_EQ(r.resource, "c-9");
  EXPECT_EQ(Post("/booth/s-1/console", "application/json").status, 415);
  EXPECT_EQ(Post("/booth/s-1/console", "application/sdp", "").status, 401);
  EXPECT_EQ(Post("/booth/s.1/console", "application/sdp").status, 404) << "ids are safe names";
  EXPECT_EQ(Post("/booth/s-1/console/c-9", "application/sdp").status, 405);
  // The page itself.
  r = RouteRequest(HttpRequest{"GET", "/booth", "", ""}, All());
  EXPECT_EQ(r.kind, Route::Kind::kPage);
  EXPECT_EQ(r.file, "booth.html");
  r = RouteRequest(HttpRequest{"GET", "/booth.js", "", ""}, All());
  EXPECT_EQ(r.file, "booth.js");
}

}  // namespace
}  // namespace tilmash::web
