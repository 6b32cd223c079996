using System.Text.Json;
using System.Text.Json.Serialization;

namespace WebRepl.Gateway;

/// <summary>
/// The JSON the gateway answers with (<c>/healthz</c>, <c>/api/sessions</c>, <c>/api/boards</c>), generated at
/// build time: no reflection, so the gateway works in a trimmed, native (AOT) <c>webrepl</c>. Web defaults
/// (camelCase), as ASP.NET Core writes JSON.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WebReplGateway.Health))]
[JsonSerializable(typeof(IReadOnlyList<BoardInfo>))]
[JsonSerializable(typeof(IReadOnlyList<SessionInfo>))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
