// Publish a receipt to a running fake KashFlow with the npm `soap` package: a non-Python
// project testing its KashFlow integration against `kashflow-sync fake serve`.
//
//   kashflow-sync fake serve --port 8089 --password secret &
//   npm install soap
//   KASHFLOW_PASSWORD=secret node publish_receipt.js http://127.0.0.1:8089/api/service.asmx
//
// It loads the WSDL from the fake (?WSDL), allows this machine's IP with AutoAuthIP (as a
// real integration does), looks up the supplier and nominal code, inserts a receipt whose
// line is sent as <anyType xsi:type="InvoiceLine"> (KashFlow ignores untyped lines), reads
// it back and prints one JSON line: {"number": ..., "net": ..., "vat": ...}.
"use strict";

const soap = require("soap");

const endpoint = process.argv[2] || "http://127.0.0.1:8089/api/service.asmx";
const creds = {
  UserName: process.env.KASHFLOW_USERNAME || "demo",
  Password: process.env.KASHFLOW_PASSWORD || "",
};
const autoAuthKey = process.env.KASHFLOW_AUTOAUTH_KEY || "1234ABCD-1234";

// KashFlow answers business errors in-band: Status "NO" with StatusDetail, HTTP 200.
function ok(result, what) {
  if (result.Status !== "OK") {
    throw new Error(`${what} refused: ${result.StatusDetail}`);
  }
  return result;
}

async function main() {
  const client = await soap.createClientAsync(`${endpoint}?WSDL`);
  const call = async (operation, args) => {
    const [result] = await client[`${operation}Async`]({ ...creds, ...args });
    return ok(result, operation);
  };

  await call("AutoAuthIP", { appName: "node example", AutoAuthKey: autoAuthKey });
  const suppliers = (await call("GetSuppliers", {})).GetSuppliersResult.Supplier;
  const supplier = suppliers.find((s) => s.Code === "ACME01") || suppliers[0];
  const codes = (await call("GetNominalCodesExtended", {})).GetNominalCodesExtendedResult
    .NominalCodeExtended;
  const stationery = codes.find((n) => Number(n.Code) === 7500);

  const line = {
    // The xsi:type must name KashFlow's InvoiceLine type: node-soap writes the prefix and
    // declares it for the KashFlow namespace.
    attributes: { xsi_type: { type: "InvoiceLine", xmlns: "KashFlow" } },
    Quantity: "1",
    Description: "Paper (from node)",
    Rate: "100.00",
    ChargeType: stationery ? stationery.id : 0,
    VatRate: "20",
    VatAmount: "20.00",
    ProductID: 0,
    Sort: 1,
    ProjID: 0,
    LineID: 0,
  };
  const date = "2026-11-02T00:00:00";
  const inserted = await call("InsertReceipt", {
    Inv: {
      InvoiceDBID: 0,
      InvoiceNumber: 0,
      InvoiceDate: date,
      DueDate: date,
      CustomerID: supplier.SupplierID,
      Paid: 0,
      CustomerReference: "NODE-1",
      SuppressTotal: 0,
      ProjectID: 0,
      ExchangeRate: "1",
      Lines: { anyType: [line] },
      NetAmount: "0",
      VATAmount: "0",
      AmountPaid: "0",
      UseCustomDeliveryAddress: false,
      CISRCNetAmount: "0",
      CISRCVatAmount: "0",
      IsCISReverseCharge: false,
    },
  });
  const number = inserted.InsertReceiptResult;
  const receipt = (await call("GetReceipt", { ReceiptNumber: number })).GetReceiptResult;
  console.log(
    JSON.stringify({ number, net: String(receipt.NetAmount), vat: String(receipt.VATAmount) })
  );
}

main().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
