using System.Buffers;
using System.Globalization;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace WebRepl.Cli.Mcp;

/// <summary>A parameter of a tool: its JSON type, what it means, and whether it must be given.</summary>
internal sealed record ToolParameter(string Name, string Type, string Description, bool Required = false, string[]? Choices = null);

/// <summary>
/// A tool defined by hand: name, description, input schema and annotations written out, arguments read from the
/// request's JSON. No reflection and no reflection-based serialization, so it trims and compiles ahead of time.
/// </summary>
internal sealed class McpTool : McpServerTool
{
    private readonly Func<ToolArguments, CancellationToken, Task<CallToolResult>> _handler;

    public McpTool(string name, string title, string description, ToolAnnotations annotations, ToolParameter[] parameters, Func<ToolArguments, CancellationToken, Task<CallToolResult>> handler)
    {
        _handler = handler;
        annotations.Title = title;
        ProtocolTool = new Tool
        {
            Name = name,
            Title = title,
            Description = description,
            InputSchema = Schema(parameters),
            Annotations = annotations,
        };
    }

    public override Tool ProtocolTool { get; }

    public override IReadOnlyList<object> Metadata => [];

    public override async ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return await _handler(new ToolArguments(request.Params?.Arguments), cancellationToken).ConfigureAwait(false);
        }
        catch (ToolArgumentException ex)
        {
            return McpResults.Error(ex.Message);
        }
    }

    /// <summary>A JSON Schema object for the parameters, written with Utf8JsonWriter (no serializer involved).</summary>
    private static JsonElement Schema(ToolParameter[] parameters)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "object");
            writer.WriteStartObject("properties");
            foreach (var parameter in parameters)
            {
                writer.WriteStartObject(parameter.Name);
                writer.WriteString("type", parameter.Type);
                writer.WriteString("description", parameter.Description);
                if (parameter.Choices is { } choices)
                {
                    writer.WriteStartArray("enum");
                    foreach (string choice in choices)
                    {
                        writer.WriteStringValue(choice);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteStartArray("required");
            foreach (var parameter in parameters.Where(p => p.Required))
            {
                writer.WriteStringValue(parameter.Name);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("additionalProperties", false);
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}

/// <summary>A tool call's arguments, read by name and type; a wrong type is a clear error for the agent.</summary>
internal sealed class ToolArguments(IDictionary<string, JsonElement>? arguments)
{
    private JsonElement? Get(string name) =>
        arguments is not null && arguments.TryGetValue(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? value : null;

    public string RequiredString(string name) =>
        String(name) ?? throw new ToolArgumentException($"The argument '{name}' is required.");

    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new ToolArgumentException($"The argument '{name}' must be a string."),
    };

    public bool Boolean(string name, bool fallback) => Get(name) switch
    {
        null => fallback,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw new ToolArgumentException($"The argument '{name}' must be true or false."),
    };

    public double Number(string name, double fallback, double minimum, double maximum)
    {
        var value = Get(name);
        if (value is null)
        {
            return fallback;
        }

        if (value.Value.ValueKind != JsonValueKind.Number || !value.Value.TryGetDouble(out double number) || !double.IsFinite(number) || number < minimum || number > maximum)
        {
            throw new ToolArgumentException(string.Create(CultureInfo.InvariantCulture, $"The argument '{name}' must be a number from {minimum} to {maximum}."));
        }

        return number;
    }

    public string Choice(string name, string fallback, params string[] choices)
    {
        string value = String(name) ?? fallback;
        return choices.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new ToolArgumentException($"The argument '{name}' must be one of: {string.Join(", ", choices)}.");
    }
}

/// <summary>An argument the agent got wrong; the message says what to send instead.</summary>
internal sealed class ToolArgumentException(string message) : Exception(message);

internal static class McpResults
{
    public static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }], IsError = false };

    public static CallToolResult Text(params string[] texts) => new() { Content = [.. texts.Select(t => (ContentBlock)new TextContentBlock { Text = t })], IsError = false };

    public static CallToolResult Error(string text) => new() { Content = [new TextContentBlock { Text = text }], IsError = true };

    public static CallToolResult Error(params string[] texts) => new() { Content = [.. texts.Select(t => (ContentBlock)new TextContentBlock { Text = t })], IsError = true };
}
