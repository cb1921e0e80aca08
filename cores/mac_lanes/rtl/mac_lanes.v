// LANES independent signed multiply-accumulate lanes with registered ports:
// a small parameterised design of edalize-dse's own, to show the dse flow on
// a user core (its vlogparams are the hardware layer of the space).
//   WIDTH: operand bits; ACC: accumulator bits; LANES: parallel lanes;
//   PIPE: 1 adds a register between the multiplier and the adder.
module mac_lanes #(
  parameter integer WIDTH = 8,
  parameter integer ACC = 24,
  parameter integer LANES = 4,
  parameter integer PIPE = 0
) (
  input  wire                   clk,
  input  wire                   clear,
  input  wire [LANES*WIDTH-1:0] a,
  input  wire [LANES*WIDTH-1:0] b,
  output wire [LANES*ACC-1:0]   acc
);
  reg clear_q;
  always @(posedge clk) clear_q <= clear;

  genvar i;
  generate
    for (i = 0; i < LANES; i = i + 1) begin : lane
      reg signed [WIDTH-1:0] a_q, b_q;
      reg signed [ACC-1:0] sum;
      wire signed [2*WIDTH-1:0] product = a_q * b_q;
      wire signed [2*WIDTH-1:0] addend;
      if (PIPE) begin : piped
        reg signed [2*WIDTH-1:0] product_q;
        always @(posedge clk) product_q <= product;
        assign addend = product_q;
      end else begin : direct
        assign addend = product;
      end
      always @(posedge clk) begin
        a_q <= a[i*WIDTH +: WIDTH];
        b_q <= b[i*WIDTH +: WIDTH];
        sum <= clear_q ? {ACC{1'b0}} : sum + {{(ACC-2*WIDTH){addend[2*WIDTH-1]}}, addend};
      end
      assign acc[i*ACC +: ACC] = sum;
    end
  endgenerate
endmodule
